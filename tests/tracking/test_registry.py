"""Forecasters in the MLflow model registry: every candidate a pyfunc version, aliases, each day's champion by tag."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from monitor_pipeline.forecast.naive import SeasonalNaive
from monitor_pipeline.forecast.selection import select
from monitor_pipeline.tracking.registry import (
    FORMAT_TAG,
    champion_in_force,
    champion_version,
    load_champion,
    log_candidate,
    promote,
    registered_name,
)
from tests.forecast.test_forecasters import SEASON, series

KEY = "requests.count{model=a b}"


def hourly(values: np.ndarray, start: str = "2026-11-01") -> pd.Series:
    """Values on an hourly UTC grid (what window_series gives the forecasters)."""
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="1h", tz="UTC"))


def register(client: MlflowClient, exp: str, model, y: pd.Series, key: str, partition: str, champion: bool) -> int:
    """Log `model` as a candidate of `partition` in a new run; make it the day's champion when asked."""
    logged = log_candidate(
        client, client.create_run(exp).info.run_id, model, y, series_key=key, window="1h", horizon=6,
        partition=partition,
    )  # fmt: skip
    if champion:
        promote(client, key, logged["version"], partition, logged["version"], move_alias=True)
    return logged["version"]


@pytest.mark.slow
def test_each_day_finds_its_champion_and_other_days_the_one_in_force(tmp_path):
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.create_experiment("f", artifact_location=(tmp_path / "art").as_uri())
    y = hourly(series(days=20))
    assert load_champion(client, KEY) is None and champion_in_force(client, KEY) is None  # the caller falls back
    forecasts = {}
    for day, n in (("2026-11-19", 150), ("2026-11-20", 200)):  # ARIMA wins both; its fit grows with the history
        sel = select(y.to_numpy()[:n], ["seasonal_naive", "arima"], SEASON, horizon=6, folds=3)
        for name, model in sel.models.items():  # every candidate registered, the best made the day's champion
            version = register(client, exp, model, y[:n], KEY, day, champion=name == sel.best)
            if name == sel.best:
                forecasts[day] = (version, model.predict(y.to_numpy(), 6).mean)
    assert [v for v, _ in forecasts.values()] == [2, 4]
    model, info = load_champion(client, KEY, "2026-11-19")
    assert info["version"] == 2 and info["partition"] == "2026-11-19" and info["model"] == "arima"
    np.testing.assert_array_equal(model.predict(y.to_numpy(), 6).mean, forecasts["2026-11-19"][1])
    latest, info = load_champion(client, KEY, "2026-12-01")  # no champion of that day: the one in force
    assert info["version"] == 4
    np.testing.assert_array_equal(latest.predict(y.to_numpy(), 6).mean, forecasts["2026-11-20"][1])
    name = registered_name(KEY)
    version = client.get_model_version_by_alias(name, "champion")
    assert int(version.version) == 4 and version.tags["series"] == KEY and version.tags[FORMAT_TAG]
    assert version.source.startswith("models:/m-")  # a LoggedModel of the run that backtested it
    assert client.get_logged_model(version.source.removeprefix("models:/")).source_run_id == version.run_id
    incumbent = champion_in_force(client, KEY)
    assert incumbent is not None and (incumbent.version, incumbent.partition) == (4, "2026-11-20")


def test_a_version_from_before_pyfunc_models_is_refused_with_the_fix(tmp_path):
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.create_experiment("f", artifact_location=(tmp_path / "art").as_uri())
    y = hourly(series(days=3))
    version = register(client, exp, SeasonalNaive(SEASON).fit(y.to_numpy()), y, KEY, "2026-11-03", champion=True)
    client.delete_model_version_tag(registered_name(KEY), str(version), FORMAT_TAG)  # as the old code left them
    with pytest.raises(ValueError, match="materialize forecast_champions for partition 2026-11-03"):
        champion_version(client, KEY, "2026-11-03")
    assert champion_in_force(client, KEY) is None  # tonight's challenger simply replaces it


def test_registered_names_keep_series_apart():
    assert registered_name("requests.latency_p95_ms{model=m1}") == "forecaster.requests.latency_p95_ms_model_m1"
    assert registered_name("requests.count{model=m1!}") != registered_name("requests.count{model=m1_}")
