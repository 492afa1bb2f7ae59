"""Rolling-origin backtest: fit once on the head of the series, then forecast from successive origins."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from monitor_pipeline.forecast.base import Forecaster, clean_series
from monitor_pipeline.forecast.metrics import coverage, mase, mase_scale, smape


@dataclass
class BacktestResult:
    """Per-origin errors and their means for one model on one series."""

    model: str
    mase: float
    smape: float
    coverage: float
    fit_seconds: float
    predict_seconds: float
    origins: int
    per_origin: list[dict] = field(default_factory=list)


def forecast_origins(model: Forecaster, y: np.ndarray, origins: Iterable[int], h: int, phase0: int = 0) -> list[dict]:
    """MASE (scaled on the points before the first origin), sMAPE and coverage of `h`-step forecasts from each origin.

    `model` is used as fitted: this is how a backtest scores its model, and how an older champion is scored on the
    same origins as tonight's challenger.
    """
    y = clean_series(y)
    origins = list(origins)
    scale = mase_scale(y[: origins[0]], model.season) if origins else float("nan")
    rows = []
    for origin in origins:
        forecast = model.predict(y[:origin], h, phase0=phase0)
        actual = y[origin : origin + h]
        rows.append(
            {
                "origin": origin,
                "mase": mase(actual, forecast.mean, scale),
                "smape": smape(actual, forecast.mean),
                "coverage": coverage(actual, forecast.lower, forecast.upper),
            }
        )
    return rows


def backtest(model: Forecaster, y, h: int, folds: int = 8, step: int | None = None, phase0: int = 0) -> BacktestResult:
    """Fit `model` on y minus the last folds*step+h-step points, then forecast h steps from each of `folds` origins."""
    y = clean_series(y)
    step = step or h
    first = len(y) - h - step * (folds - 1)
    if first < model.min_length:
        raise ValueError(
            f"series of {len(y)} points is too short for {folds} folds of h={h} after "
            f"{model.min_length} training points"
        )
    t = time.perf_counter()
    model.fit(y[:first], phase0=phase0)
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    rows = forecast_origins(model, y, range(first, len(y) - h + 1, step), h, phase0)
    pred_s = (time.perf_counter() - t) / max(1, len(rows))
    return BacktestResult(
        model.name,
        float(np.mean([r["mase"] for r in rows])),
        float(np.mean([r["smape"] for r in rows])),
        float(np.mean([r["coverage"] for r in rows])),
        fit_s,
        pred_s,
        len(rows),
        rows,
    )
