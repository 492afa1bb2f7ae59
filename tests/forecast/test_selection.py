"""Model selection by backtest (champions in the MLflow registry: tests/tracking/test_registry.py)."""

from __future__ import annotations

import numpy as np
import pytest
from test_forecasters import SEASON, series

from monitor_pipeline.forecast.selection import fallback, select


@pytest.mark.slow
def test_selection_backtests_every_model_and_explains_skips():
    y = series(days=12)  # enough for three folds of every model (the LSTM needs 154 points); an ARIMA fit grows with it
    sel = select(y, ["seasonal_naive", "arima", "lstm"], SEASON, horizon=6, folds=3, epochs=3, hidden=8)
    assert set(sel.results) == {"seasonal_naive", "arima", "lstm"} and not sel.skipped
    assert sel.best == min(sel.results, key=lambda m: sel.results[m].mase)
    assert sel.champion is sel.models[sel.best] and sel.champion.fitted
    short = select(y[:40], ["seasonal_naive", "arima", "gru"], SEASON, horizon=6, folds=3)
    assert short.best is None and set(short.skipped) == {"seasonal_naive", "arima", "gru"}
    assert "too short for 3 folds" in short.skipped["arima"]
    flat = select(np.full(500, 3.0), ["seasonal_naive", "arima"], SEASON, horizon=6, folds=3)
    assert flat.best == "seasonal_naive" and "constant" in flat.skipped["arima"]
    empty = select(np.full(100, np.nan), ["arima"], SEASON, horizon=6, folds=3)
    assert "no finite values" in empty.skipped["arima"]
    assert fallback(y[:10], SEASON) is None and fallback(y, SEASON).fitted


@pytest.mark.parametrize("bad", [[], [1.0, np.nan]])
def test_selection_of_nothing_is_empty(bad):
    sel = select(np.array(bad, dtype=float), ["seasonal_naive"], SEASON, horizon=6, folds=2)
    assert sel.best is None and sel.champion is None
