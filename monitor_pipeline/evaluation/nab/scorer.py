"""A scorer written to the Numenta Anomaly Benchmark's rules (NAB v1.1 sweeper, numenta/NAB commit ea702d7).

Rules, per data file: the first `min(floor(0.15 n), 0.15 * 5000)` rows are probationary and ignored. A detection is a
row whose anomaly score is >= the threshold. Inside an anomaly window only the earliest detection counts: it earns
`tpWeight * S(-(right - i + 1) / width) / S(-1)`, where S(x) = 2 / (1 + e^(5x)) - 1 is NAB's scaled sigmoid (so the
first row of a window earns exactly tpWeight, the last about 0.2 of it); a window without a detection costs fnWeight.
Every detection outside a window costs `fpWeight * S(distance past the previous window / (its width - 1))`, at most
fpWeight (before any window it costs the full fpWeight). The threshold is swept over every distinct score of all files
together and the best total kept (ties go to the higher threshold); the total is normalised to 0 for the null detector
(no detection at all) and 100 for a perfect one (every window caught at its first row, no false positive).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

PROBATION_PERCENT = 0.15
START_THRESHOLD = 1.1  # above every score: the sweep's first row, where nothing is detected


@dataclass(frozen=True)
class CostMatrix:
    """The weights of one NAB application profile."""

    tp: float
    fp: float
    fn: float

    @classmethod
    def from_profile(cls, profile: dict) -> CostMatrix:
        """From one entry of NAB's `config/profiles.json` (`{"CostMatrix": {"tpWeight": ...}}`)."""
        m = profile["CostMatrix"]
        return cls(tp=float(m["tpWeight"]), fp=float(m["fpWeight"]), fn=float(m["fnWeight"]))


@dataclass
class FileSweep:
    """A file's scorable rows: anomaly score, NAB weight if detected, window id (-1 outside every window)."""

    name: str
    scores: np.ndarray
    weights: np.ndarray
    window: np.ndarray
    n_windows: int  # windows with at least one scorable row: each costs fnWeight when missed
    n_labelled: int  # every labelled window of the file: the perfect detector catches each
    n_rows: int


@dataclass
class FileScore:
    """One file scored at one threshold: the raw NAB score and the row counts."""

    name: str
    threshold: float
    score: float
    tp: int
    tn: int
    fp: int
    fn: int
    total: int


def probation_length(n_rows: int, percent: float = PROBATION_PERCENT) -> int:
    """Rows at the start of a file that NAB neither scores nor counts: 15 %, at most 750."""
    return int(min(np.floor(percent * n_rows), percent * 5000))


def scaled_sigmoid(x: np.ndarray | float) -> np.ndarray:
    """NAB's S(x) = 2 / (1 + e^(5x)) - 1, and -1 beyond x > 3: +0.987 at x = -1, 0 at x = 0, -0.987 at x = 1."""
    x = np.asarray(x, dtype=float)
    with np.errstate(over="ignore"):
        return np.where(x > 3.0, -1.0, 2.0 / (1.0 + np.exp(5.0 * x)) - 1.0)


def window_bounds(timestamps, windows: list[tuple]) -> list[tuple[int, int]]:
    """(first, last) row index of each window [t1, t2], sorted, empty ones dropped.

    As NAB: a limit is the first row whose timestamp equals it (rows stay in file order, even where a file steps
    back in time); a limit that matches no row falls back to the first row >= t1 / the last row <= t2.
    """
    ts = np.asarray(timestamps, dtype="datetime64[ns]")
    out = []
    for t1, t2 in sorted(windows):
        a, b = np.datetime64(pd.Timestamp(t1), "ns"), np.datetime64(pd.Timestamp(t2), "ns")
        lo = _first(ts == a)
        lo = _first(ts >= a) if lo is None else lo
        hi = _first(ts == b)
        if hi is None:
            below = np.flatnonzero(ts <= b)
            hi = int(below[-1]) if len(below) else -1
        if lo is not None and lo <= hi:
            out.append((lo, hi))
    return out


def _first(mask: np.ndarray) -> int | None:
    """Index of the first True, or None."""
    idx = np.flatnonzero(mask)
    return int(idx[0]) if len(idx) else None


def sweep_file(
    name: str, timestamps, scores, windows: list[tuple], cost: CostMatrix, probation_percent: float = PROBATION_PERCENT
) -> FileSweep:
    """Every row's NAB weight were it a detection, with the probationary rows removed."""
    scores = np.asarray(scores, dtype=float)
    n = len(scores)
    if len(timestamps) != n:
        raise ValueError(f"{name}: {len(timestamps)} timestamps but {n} anomaly scores")
    if np.isnan(scores).any():
        raise ValueError(f"{name}: anomaly scores contain NaN (row {int(np.argmax(np.isnan(scores)))})")
    bounds = window_bounds(timestamps, windows)
    idx = np.arange(n)
    window = np.full(n, -1)
    weights = np.empty(n)
    max_tp = float(scaled_sigmoid(-1.0))
    for k, (lo, hi) in enumerate(bounds):
        window[lo : hi + 1] = k
        width = hi - lo + 1
        weights[lo : hi + 1] = scaled_sigmoid(-(hi - idx[lo : hi + 1] + 1) / width) * cost.tp / max_tp
    outside = window < 0
    rights = np.array([hi for _, hi in bounds], dtype=int)
    widths = np.array([hi - lo + 1 for lo, hi in bounds], dtype=float)
    prev = np.searchsorted(rights, idx[outside], side="left") - 1  # the last window that ended before the row
    dist = np.full(len(prev), np.inf)  # no window before: as far as can be, the full fpWeight
    has = np.zeros(len(prev), dtype=bool)
    if bounds:  # a one-row window has no width to scale the distance by (NAB divides by zero): full cost
        has = (prev >= 0) & (widths[prev.clip(0)] > 1)
    dist[has] = (idx[outside][has] - rights[prev[has]]) / (widths[prev[has]] - 1.0)
    weights[outside] = np.where(np.isfinite(dist), scaled_sigmoid(np.minimum(dist, 4.0)), -1.0) * cost.fp
    keep = idx >= probation_length(n, probation_percent)
    return FileSweep(
        name, scores[keep], weights[keep], window[keep], len(np.unique(window[keep & ~outside])), len(bounds), n
    )


def score_file(sweep: FileSweep, threshold: float, cost: CostMatrix) -> FileScore:
    """The file's raw NAB score and TP/TN/FP/FN row counts when every score >= threshold is a detection."""
    det = sweep.scores >= threshold
    inside = sweep.window >= 0
    best = np.full(int(sweep.window.max(initial=-1)) + 1, -np.inf)
    np.maximum.at(best, sweep.window[det & inside], sweep.weights[det & inside])
    present = np.zeros(len(best), dtype=bool)
    present[sweep.window[inside]] = True
    best = best[present]
    total = sweep.weights[det & ~inside].sum() + np.where(np.isfinite(best), best, -cost.fn).sum()
    tp, fp = int((det & inside).sum()), int((det & ~inside).sum())
    fn, tn = int(inside.sum()) - tp, int((~inside).sum()) - fp
    return FileScore(sweep.name, float(threshold), float(total), tp, tn, fp, fn, sweep.n_rows)


@dataclass
class ThresholdSweep:
    """The corpus's raw score at every candidate threshold (descending), with TP/FP row counts."""

    thresholds: np.ndarray
    scores: np.ndarray
    tp: np.ndarray
    fp: np.ndarray

    def best(self) -> tuple[float, float]:
        """(threshold, raw score) of the best threshold; ties go to the higher threshold, as NAB's optimizer."""
        i = int(np.argmax(self.scores))
        return float(self.thresholds[i]), float(self.scores[i])


def sweep_corpus(sweeps: list[FileSweep], cost: CostMatrix) -> ThresholdSweep:
    """NAB's threshold sweep over all files at once: lowering the threshold one distinct score at a time."""
    if not sweeps:
        raise ValueError("no files to sweep")
    offsets = np.cumsum([0] + [int(s.window.max(initial=-1)) + 1 for s in sweeps])[:-1]
    scores = np.concatenate([s.scores for s in sweeps])
    weights = np.concatenate([s.weights for s in sweeps])
    window = np.concatenate(
        [np.where(s.window >= 0, s.window + off, -1) for s, off in zip(sweeps, offsets, strict=True)]
    )
    order = np.argsort(-scores, kind="stable")
    scores, weights, window = scores[order], weights[order], window[order]
    inside = window >= 0
    delta = np.where(inside, 0.0, weights)
    # A window's part rises from -fnWeight to the best (earliest) weight among its detections so far.
    pos = np.flatnonzero(inside)
    running = pd.Series(weights[pos]).groupby(window[pos]).cummax()
    before = running.groupby(window[pos]).shift(1).fillna(-cost.fn)
    delta[pos] = running.to_numpy() - before.to_numpy()
    base = -cost.fn * sum(s.n_windows for s in sweeps)
    total = base + np.cumsum(delta)
    ends = np.flatnonzero(np.append(scores[1:] != scores[:-1], True))
    return ThresholdSweep(
        thresholds=np.concatenate([[START_THRESHOLD], scores[ends]]),
        scores=np.concatenate([[base], total[ends]]),
        tp=np.concatenate([[0], np.cumsum(inside)[ends]]),
        fp=np.concatenate([[0], np.cumsum(~inside)[ends]]),
    )


def null_score(sweeps: list[FileSweep], cost: CostMatrix) -> float:
    """The raw score of the null detector (no detection anywhere): every scorable window missed."""
    return -cost.fn * sum(s.n_windows for s in sweeps)


def perfect_score(sweeps: list[FileSweep], cost: CostMatrix) -> float:
    """The raw score of a perfect detector, as NAB counts it: tpWeight for every labelled window."""
    return cost.tp * sum(s.n_labelled for s in sweeps)


def normalise(raw: float, null: float, perfect: float) -> float:
    """NAB's 0-100 scale: 0 is the null detector, 100 a perfect one."""
    return 100.0 * (raw - null) / (perfect - null)
