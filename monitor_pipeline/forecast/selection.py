"""Model selection per series: backtest every configured model, pick the lowest MASE, refit the winner on everything."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from monitor_pipeline.forecast.backtest import BacktestResult, backtest
from monitor_pipeline.forecast.base import Forecaster, NotEnoughData, clean_series
from monitor_pipeline.forecast.naive import SeasonalNaive

# Cheaper models win ties: the baseline first, then ARIMA, then the RNNs.
ORDER = ("seasonal_naive", "arima", "lstm", "gru")


def make_model(name: str, season: int, horizon: int, epochs: int = 30, hidden: int = 32, seed: int = 0) -> Forecaster:
    """A fresh, unfitted forecaster by name."""
    if name == "seasonal_naive":
        return SeasonalNaive(season)
    if name == "arima":
        from monitor_pipeline.forecast.arima import ARIMAForecaster

        return ARIMAForecaster(season)
    if name in ("lstm", "gru"):
        from monitor_pipeline.forecast.neural import RNNForecaster

        return RNNForecaster(season, cell=name, horizon=horizon, epochs=epochs, hidden=hidden, seed=seed)
    raise ValueError(f"unknown model {name!r}; allowed: {', '.join(ORDER)}")


@dataclass
class Selection:
    """Every model's backtest (or why it was skipped) and the champion."""

    results: dict[str, BacktestResult] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    models: dict[str, Forecaster] = field(default_factory=dict)  # fitted on the backtest's head, for plots/params
    best: str | None = None

    @property
    def champion(self) -> Forecaster | None:
        """The best model, as fitted in the backtest (None when every model was skipped)."""
        return self.models.get(self.best) if self.best else None

    def table(self) -> list[dict]:
        """One row per model: MASE, sMAPE, interval coverage, fit time, or the skip reason."""
        rows = [
            {
                "model": m,
                "mase": r.mase,
                "smape": r.smape,
                "coverage": r.coverage,
                "fit_s": r.fit_seconds,
                "champion": m == self.best,
            }
            for m, r in self.results.items()
        ]
        return rows + [{"model": m, "skipped": why} for m, why in self.skipped.items()]


def select(y, models: Sequence[str], season: int, horizon: int, folds: int, phase0: int = 0, **kw) -> Selection:
    """Backtest `models` on `y` (rolling origin, `folds` origins, `horizon` steps); the best is the champion."""
    sel = Selection()
    try:
        y = clean_series(y)
    except NotEnoughData as exc:
        sel.skipped = {m: str(exc) for m in models}
        return sel
    for name in sorted(models, key=ORDER.index):
        model = make_model(name, season, horizon, **kw)
        try:
            sel.results[name] = backtest(model, y, horizon, folds=folds, phase0=phase0)
            sel.models[name] = model
        except (NotEnoughData, ValueError) as exc:
            sel.skipped[name] = str(exc)
    if not sel.results:
        return sel
    # A flat training stretch has no seasonal error to scale MASE by: rank such a series by sMAPE instead.
    key = "mase" if all(math.isfinite(r.mase) for r in sel.results.values()) else "smape"
    sel.best = min(sel.results, key=lambda m: (getattr(sel.results[m], key), ORDER.index(m)))
    # The champion is the backtest's model, fitted on all but the last folds: refitting doubles the cost for little,
    # since every forecast conditions on the latest history anyway (ARIMA's state, the RNN's input window).
    return sel


def fallback(y, season: int, phase0: int = 0) -> Forecaster | None:
    """The seasonal-naive model fitted on `y`, or None when even that cannot be fitted."""
    try:
        return SeasonalNaive(season).fit(np.asarray(y, dtype=float), phase0=phase0)
    except NotEnoughData:
        return None
