"""Model selection by backtest, and champions in the MLflow registry loaded back by partition."""

from __future__ import annotations

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from test_forecasters import SEASON, series

from monitor_pipeline.forecast.registry import load_champion, register_champion
from monitor_pipeline.forecast.selection import fallback, select


@pytest.mark.slow
def test_selection_backtests_every_model_and_explains_skips():
    y = series(days=20)
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


@pytest.mark.slow
def test_champion_is_registered_and_loaded_by_partition(tmp_path):
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.create_experiment("f", artifact_location=(tmp_path / "art").as_uri())
    y = series(days=20)
    assert load_champion(client, "requests.count") is None  # nothing registered: the caller falls back
    versions = {}
    for day, n in (("2026-11-19", 300), ("2026-11-20", 400)):
        model = select(y[:n], ["seasonal_naive", "arima"], SEASON, horizon=6, folds=3).champion
        run = client.create_run(exp).info.run_id
        versions[day] = register_champion(client, run, model, "requests.count{model=a b}", day)
    assert versions == {"2026-11-19": 1, "2026-11-20": 2}
    model, info = load_champion(client, "requests.count{model=a b}", "2026-11-19")
    assert info["version"] == 1 and info["partition"] == "2026-11-19"
    latest, info = load_champion(client, "requests.count{model=a b}", "2026-12-01")  # no version of that day: champion
    assert info["version"] == 2
    again = select(y[:400], ["seasonal_naive", "arima"], SEASON, horizon=6, folds=3).champion
    np.testing.assert_allclose(latest.predict(y, 6).mean, again.predict(y, 6).mean, rtol=1e-5)
    assert int(client.get_model_version_by_alias(info["name"], "champion").version) == 2


@pytest.mark.parametrize("bad", [[], [1.0, np.nan]])
def test_selection_of_nothing_is_empty(bad):
    sel = select(np.array(bad, dtype=float), ["seasonal_naive"], SEASON, horizon=6, folds=2)
    assert sel.best is None and sel.champion is None
