"""The two pieces of Prometheus arithmetic the engine windows need: counter increases and histogram quantiles.

Written by hand because they are small and no library applies them to stored samples: PromQL engines
evaluate them over a live TSDB. The semantics follow Prometheus' own (`rate`/`increase` reset handling,
`histogram_quantile` bucket interpolation) so a number here matches what an operator's Grafana shows for the
same window, up to rate extrapolation (not done: a window's rate is its increase over the time it observed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def counter_increases(times: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per consecutive pair of one counter's samples (sorted by time): seconds elapsed and the increase.

    A value below its predecessor is a reset (the process restarted and counts again from 0), so the increase
    over that pair is the new value itself, as Prometheus counts it. The result has one entry fewer than the
    input; entry i belongs to sample i + 1 (the pair's end).
    """
    if len(values) < 2:
        return np.empty(0), np.empty(0)
    dv = np.diff(values)
    inc = np.where(dv >= 0, dv, values[1:])
    return np.diff(times).astype(float), inc.astype(float)


def histogram_quantile(q: float, bounds: Sequence[float], counts: Sequence[float]) -> float:
    """The q-quantile of a cumulative histogram (upper bounds with their counts), as PromQL's histogram_quantile.

    Buckets are sorted by bound; counts made monotonic (a bucket never counts fewer than the one below it: a
    scrape can catch buckets mid-update); NaN without a `+Inf` bucket, with fewer than two buckets or with no
    observation; a rank in the `+Inf` bucket returns the highest finite bound; otherwise linear interpolation
    inside the bucket holding the rank, the first bucket starting at 0 (or returning its bound when <= 0).
    """
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    pairs = sorted(zip((float(b) for b in bounds), (float(c) for c in counts), strict=True))
    if len(pairs) < 2 or not math.isinf(pairs[-1][0]):
        return math.nan
    ub = [b for b, _ in pairs]
    cum = np.maximum.accumulate(np.array([c for _, c in pairs]))
    total = cum[-1]
    if not total > 0:
        return math.nan
    rank = q * total
    # The first bucket whose count reaches the rank, searched below +Inf as Prometheus does.
    b = int(np.searchsorted(cum[:-1], rank, side="left"))
    if b == len(ub) - 1:
        return ub[-2]
    if b == 0 and ub[0] <= 0:
        return ub[0]
    start = 0.0 if b == 0 else ub[b - 1]
    below = 0.0 if b == 0 else cum[b - 1]
    in_bucket = cum[b] - below
    if in_bucket <= 0:
        return ub[b]
    return start + (ub[b] - start) * (rank - below) / in_bucket


def parse_le(text: str) -> float:
    """A bucket's `le` label as a number (`+Inf`, `1.0`, `1e-3`); NaN when it is not one."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan
