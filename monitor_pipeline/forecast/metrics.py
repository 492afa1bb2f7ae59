"""Forecast accuracy: MASE (scaled by in-sample seasonal-naive error) and sMAPE (0-200)."""

from __future__ import annotations

import numpy as np


def mase_scale(train: np.ndarray, season: int) -> float:
    """Mean absolute seasonal difference of the training series (falls back to lag 1 when it is too short)."""
    m = season if len(train) > season else 1
    scale = float(np.mean(np.abs(train[m:] - train[:-m]))) if len(train) > m else 0.0
    return scale if scale > 0 else float("nan")  # a constant training series has no scale


def mase(actual: np.ndarray, forecast: np.ndarray, scale: float) -> float:
    """Mean absolute error divided by the in-sample seasonal-naive error."""
    return float(np.mean(np.abs(np.asarray(actual) - np.asarray(forecast))) / scale)


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE in percent (0..200); points where both are zero count as exact."""
    a, f = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    denom = np.abs(a) + np.abs(f)
    ratio = np.divide(2 * np.abs(a - f), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(100 * np.mean(ratio))


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of actual values inside the prediction interval."""
    a = np.asarray(actual)
    return float(np.mean((a >= lower) & (a <= upper)))
