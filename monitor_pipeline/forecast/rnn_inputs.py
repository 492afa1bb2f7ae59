"""What the recurrent forecasters see: a window of past features and candidate baseline paths, relative to a local level.

Every input and target is expressed relative to the origin's local level (the mean of the last `LEVEL` values), so a
net trained before a level shift reads the same shapes after it. The baselines are the paths a forecaster of traffic
would try first: one season earlier, a level-adjusted profile over several seasons, the last value and moving means;
the net learns how to weigh them per step ahead and a correction on top.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

LEVEL = 6  # values averaged into the local level the inputs are relative to
MEANS = (1, 4, 16, 48)  # moving means offered as baselines (1: the last value)
FEATURES = 4  # per step: value, difference from one season earlier, sin and cos of the phase
BASELINES = 2 + len(MEANS)


def _trailing_mean(c: np.ndarray, o: np.ndarray, k: int) -> np.ndarray:
    """Mean of the last min(k, o) values before each origin, from the cumulative sum `c` (c[0] = 0)."""
    n = np.minimum(k, o)
    return (c[o] - c[o - n]) / n


def features(z: np.ndarray, season: int, phase0: int) -> np.ndarray:
    """(len(z), FEATURES): value, value minus one season earlier (0 for the first season), sin and cos of the phase."""
    ang = 2 * np.pi * (np.arange(len(z)) + phase0) / season
    diff = np.zeros_like(z)
    diff[season:] = z[season:] - z[:-season]
    return np.stack([z, diff, np.sin(ang), np.cos(ang)], axis=1)


def baselines(z: np.ndarray, origins: np.ndarray, season: int, horizon: int, base_seasons: int) -> np.ndarray:
    """(origins, BASELINES, horizon): seasonal naive, seasonal profile, then the last value and moving means."""
    s, o = season, origins[:, None]
    k = (np.arange(horizon) % s)[None, :]  # the last cycle repeats when h > season
    # Profile: the mean of the same phase over the last `base_seasons` cycles the history holds, shifted by the last
    # cycle's mean minus those cycles' mean, so a trend or a level step is not averaged away.
    cycles = np.minimum(base_seasons, o // s)
    total = np.zeros((len(origins), horizon))
    for j in range(1, base_seasons + 1):
        total += np.where(j <= cycles, z[np.maximum(o - j * s + k, 0)], 0.0)
    c = np.concatenate([[0.0], np.cumsum(z)])
    level = (c[o] - c[o - s]) / s - (c[o] - c[o - cycles * s]) / (cycles * s)
    paths = [z[o - s + k], total / cycles + level]
    paths += [np.repeat(_trailing_mean(c, origins, m)[:, None], horizon, axis=1) for m in MEANS]
    return np.stack(paths, axis=1)


def inputs(
    z: np.ndarray, origins: np.ndarray, window: int, season: int, horizon: int, base_seasons: int, phase0: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(past (N, window, FEATURES), baselines (N, BASELINES * horizon), level (N,)) for each origin, level-relative.

    `phase0` is the phase of z[0]; each origin needs `window + season` values before it.
    """
    c = np.concatenate([[0.0], np.cumsum(z)])
    level = _trailing_mean(c, origins, LEVEL)
    feats = features(z, season, phase0)
    past = sliding_window_view(feats, (window, FEATURES))[:, 0][origins - window].copy()
    past[:, :, 0] -= level[:, None]
    base = baselines(z, origins, season, horizon, base_seasons) - level[:, None, None]
    return past.astype(np.float32), base.reshape(len(origins), -1).astype(np.float32), level


def median_mix(paths: np.ndarray, target: np.ndarray, iterations: int = 8) -> np.ndarray:
    """(BASELINES, horizon) weights of the baseline paths, per step ahead, minimising the absolute error (IRLS).

    paths: (N, BASELINES * horizon), target: (N, horizon), both level-relative. The least-absolute-deviation mix is
    where the net starts: the paths' best linear blend on the training windows, the net learns the rest.
    """
    n, h = target.shape
    p = paths.reshape(n, -1, h).astype(float)
    ridge = 1e-3 * np.eye(p.shape[1])
    out = np.zeros((p.shape[1], h))
    for k in range(h):
        x, t, w = p[:, :, k], target[:, k].astype(float), np.ones(n)
        for _ in range(iterations):
            xw = x * w[:, None]
            beta = np.linalg.solve(xw.T @ x + ridge * w.sum(), xw.T @ t)
            w = 1.0 / np.maximum(np.abs(t - x @ beta), 1e-3)
        out[:, k] = beta
    return out
