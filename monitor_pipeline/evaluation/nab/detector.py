"""A streaming anomaly detector for NAB: a row is anomalous when a feature goes beyond everything seen before.

Every row is scored from that row and earlier rows only (each statistic is of the past, nothing looks ahead), so a
file scored at once equals the same file scored point by point; the one input from the whole file is NAB's
probationary length (`min(15 %, 750)` rows), which NAB hands every detector.

Features of each row, each a series of its own:
  - level at three time scales: the value, the mean of the last 6 and of the last 24 rows;
  - seasonal residual: the value (and the mean of the last 3) minus the median of the same phase on the three
    previous days and, separately, weeks (when the timestamps are regular and that history exists);
  - trend: the mean of the last 96 rows minus the mean of the 96 before (a slow drift or the onset of a new regime);
  - floor: the minimum of the last 96 rows (a level held for a while that was never held before), measured against
    its range as it stood 48 rows earlier, so a floor that creeps up adds up instead of setting many tiny records;
  - sequence novelty: how many of the last 24 rows end a word of 6 quantised values never seen before (values
    in 5 equal bins over the probationary range): catches a new shape that stays inside the normal range;
  - local deviation from the median of the 12 rows before (off by default: on NAB it added false positives only).
A feature's surprise is how far it goes beyond its own running [min, max] over all earlier rows, as a share of that
range: 0 while inside it, 0.1 for a new extreme 10 % of the range beyond the old one. So the hundredth ordinary spike
of a spiky series scores 0, and a step to a level never seen before scores high at its first row. A feature scores 0
until it has 50 rows of its own history (a range of a handful of rows means nothing). The row's score is
`e / (e + 0.2)` of the largest weighted surprise, in [0, 1). After an alert (a score above 0.2) the scores of the
next 15 % of the probationary length are damped tenfold: NAB counts only the first detection in a window and charges
every further one outside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

EPS = 1e-9


@dataclass(frozen=True)
class DetectorParams:
    """The detector's knobs; the defaults are the ones reported on NAB (chosen on NAB, as NAB's own detectors were)."""

    means: tuple[tuple[int, float], ...] = ((1, 2.0), (6, 0.5), (24, 2.0))  # (rows averaged, weight)
    seasonal: tuple[tuple[int, int, float], ...] = (
        (1, 1, 0.7),
        (1, 3, 0.5),
        (7, 1, 1.0),
        (7, 3, 1.0),
    )  # (days, rows, w)
    trend: tuple[tuple[int, float], ...] = ((96, 0.7),)  # (rows in each of the two means compared, weight)
    floor: tuple[tuple[int, int, float], ...] = ((96, 48, 0.1),)  # (rows whose minimum is taken, lag, weight)
    novelty: tuple[tuple[int, int, int, float], ...] = ((5, 6, 24, 1.0),)  # (bins, word length, rows counted, w)
    local: tuple[tuple[int, float], ...] = ()  # (rows in the reference median, weight)
    warmup: int = 50  # rows a feature must have had before its range counts (its own, past its first full window)
    scale: float = 0.2  # surprise e maps to e / (e + scale)
    alert: float = 0.2  # a score above this starts a cooldown
    cooldown: float = 0.15  # rows damped after an alert, as a share of the probationary length
    damp: float = 0.1


def surprise(g: pd.Series, start: int = 0, lag: int = 1) -> np.ndarray:
    """How far each value goes beyond the [min, max] of all values `lag` or more rows earlier, as a share of that
    range (0 inside it)."""
    past = g.shift(max(lag, 1))
    hi, lo = past.cummax(), past.cummin()
    beyond = np.maximum(g - hi, lo - g).clip(lower=0) / (hi - lo + EPS)
    out = np.nan_to_num(beyond.to_numpy(dtype=float), nan=0.0, posinf=0.0)
    out[: max(start, 0)] = 0.0
    return out


def period_rows(timestamps: pd.Series, days: int, head: int) -> int | None:
    """Rows in `days` days at the most common step between the first `head` timestamps, if that step divides a day."""
    steps = pd.Series(timestamps[: max(head, 3)]).diff().dt.total_seconds().dropna()
    step = steps.mode().min() if len(steps) else None
    if not step or not np.isfinite(step) or step <= 0 or (86400 * days) % step:
        return None
    rows = int(86400 * days // step)
    return rows if rows > 1 else None


def new_words(x: np.ndarray, probation: int, bins: int, length: int) -> pd.Series:
    """1 where the last `length` values, each put in one of `bins` equal bins over the probationary range, form a word
    never seen before (0 elsewhere and on the first `length` rows); a missing value is a symbol of its own."""
    head = x[: max(probation, 10)]
    lo, hi = (np.nanmin(head), np.nanmax(head)) if np.isfinite(head).any() else (0.0, 0.0)
    edges = np.linspace(lo, hi, bins + 1)[1:-1] if hi > lo else np.array([lo])
    sym = np.where(np.isfinite(x), np.searchsorted(edges, x, side="right"), bins).astype(np.int64)
    code = np.zeros(len(sym), dtype=np.int64)
    for j in range(length):  # base bins + 2: the symbols, the missing value and the padding before the first row
        code = code * (bins + 2) + np.concatenate([np.full(min(j, len(sym)), bins + 1), sym[: len(sym) - j]])
    new = (~pd.Series(code).duplicated()).astype(float)
    new[:length] = 0.0
    return new


def features(values, timestamps, probation: int, p: DetectorParams = DetectorParams()) -> dict[str, np.ndarray]:
    """Each feature's weighted surprise for every row, from that row and earlier rows only."""
    x = pd.Series(np.asarray(values, dtype=float)).ffill()  # a gap holds the last value; leading NaNs stay NaN
    ts = pd.Series(pd.to_datetime(np.asarray(timestamps)))
    out = {f"mean{k}": w * surprise(x.rolling(k).mean(), k + 1 + p.warmup) for k, w in p.means}
    for days, k, w in p.seasonal:
        rows = period_rows(ts, days, probation)
        if rows:
            ref = pd.concat([x.shift(rows * j) for j in (1, 2, 3)], axis=1).median(axis=1)
            out[f"season{days}d_{k}"] = w * surprise((x - ref).rolling(k).mean(), 3 * rows + k + 1 + p.warmup)
    for k, w in p.trend:
        m = x.rolling(k).mean()
        out[f"trend{k}"] = w * surprise(m - m.shift(k), 2 * k + 1 + p.warmup)
    for k, lag, w in p.floor:
        out[f"floor{k}"] = w * surprise(x.rolling(k).min(), k + 1 + p.warmup, lag)
    for bins, length, k, w in p.novelty:
        count = new_words(x.to_numpy(), probation, bins, length).rolling(k, min_periods=1).sum()
        out[f"novelty{bins}_{length}_{k}"] = w * surprise(count, k + length + p.warmup)
    step = x.diff().abs().shift(1).rolling(max(probation, 10), min_periods=5).mean()
    for k, w in p.local:
        dev = (x - x.shift(1).rolling(k, min_periods=2).median()) / (step + EPS)
        out[f"local{k}"] = w * surprise(dev, k + 1 + p.warmup)
    return out


def anomaly_scores(values, timestamps, probation: int, p: DetectorParams = DetectorParams()) -> np.ndarray:
    """NAB anomaly scores in [0, 1) for every row (0 in the probationary period), each from the past only."""
    n = len(values)
    if n == 0:
        return np.zeros(0)
    e = np.max(list(features(values, timestamps, probation, p).values()), axis=0)
    score = _cooldown(e / (e + p.scale), p.alert, int(p.cooldown * max(probation, 1)), p.damp)
    score[: min(probation, n)] = 0.0
    return score


def _cooldown(score: np.ndarray, alert: float, length: int, damp: float) -> np.ndarray:
    """Multiply by `damp` the `length` rows after each alert (a score above `alert` outside a cooldown)."""
    out = score.copy()
    until = -1
    for i in np.flatnonzero(score > alert):  # only the few alerts are visited
        if i > until:
            out[i + 1 : i + 1 + length] *= damp
            until = int(i) + length
    return out
