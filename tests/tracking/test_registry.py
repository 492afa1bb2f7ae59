"""Champions in the MLflow model registry: registered with their flavour, aliased, loaded back by partition."""

from __future__ import annotations

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from monitor_pipeline.forecast.selection import select
from monitor_pipeline.tracking.registry import load_champion, register_champion, registered_name
from tests.forecast.test_forecasters import SEASON, series


@pytest.mark.slow
def test_champion_is_registered_and_loaded_by_partition(tmp_path):
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.create_experiment("f", artifact_location=(tmp_path / "art").as_uri())
    y = series(days=20)
    assert load_champion(client, "requests.count") is None  # nothing registered: the caller falls back
    versions, forecasts = {}, {}
    for day, n in (("2026-11-19", 150), ("2026-11-20", 200)):  # ARIMA wins both; its fit grows with the history
        model = select(y[:n], ["seasonal_naive", "arima"], SEASON, horizon=6, folds=3).champion
        forecasts[day] = model.predict(y, 6).mean  # the selected champion's own forecast, before it is logged
        run = client.create_run(exp).info.run_id
        versions[day] = register_champion(client, run, model, "requests.count{model=a b}", day)
    assert versions == {"2026-11-19": 1, "2026-11-20": 2}
    model, info = load_champion(client, "requests.count{model=a b}", "2026-11-19")
    assert info["version"] == 1 and info["partition"] == "2026-11-19"
    latest, info = load_champion(client, "requests.count{model=a b}", "2026-12-01")  # no version of that day: champion
    assert info["version"] == 2
    np.testing.assert_allclose(latest.predict(y, 6).mean, forecasts["2026-11-20"], rtol=1e-5)
    assert int(client.get_model_version_by_alias(info["name"], "champion").version) == 2


def test_registered_names_keep_series_apart():
    assert registered_name("requests.latency_p95_ms{model=m1}") == "forecaster.requests.latency_p95_ms_model_m1"
    assert registered_name("requests.count{model=m1!}") != registered_name("requests.count{model=m1_}")
