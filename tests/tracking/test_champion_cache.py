"""The live loop's champion cache: one registry lookup per series per TTL, one download per version."""

from __future__ import annotations

import numpy as np
from mlflow.tracking import MlflowClient
from test_registry import hourly, register

from monitor_pipeline.forecast.selection import select
from monitor_pipeline.tracking import champion_cache
from monitor_pipeline.tracking.champion_cache import ChampionCache
from tests.forecast.test_forecasters import SEASON, series

KEY = "requests.count{model=a}"


def test_champions_are_looked_up_once_per_ttl_and_loaded_from_disk(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    exp = client.create_experiment("f", artifact_location=(tmp_path / "art").as_uri())
    y = series(days=4)
    model = select(y, ["seasonal_naive"], SEASON, horizon=6, folds=2).champion
    register(client, exp, model, hourly(y), KEY, "2026-11-20", champion=True)
    made = []

    def factory():
        made.append(1)
        return MlflowClient(uri)

    first = ChampionCache(tmp_path / "cache", factory, ttl_s=600)
    loaded, info = first.loader("2026-11-20")(KEY)
    assert info["version"] == 1 and first.registry_lookups == 1 and len(made) == 1
    assert (tmp_path / "cache" / info["name"] / "1" / "MLmodel").exists()  # the pyfunc model itself is cached
    np.testing.assert_array_equal(loaded.predict(y, 6).mean, model.predict(y, 6).mean)
    assert first.loader("2026-11-20")("requests.count{model=none}") is None  # no champion: the caller falls back
    # The next micro-batch (a new process: the in-memory models are gone) asks nobody and reads the disk copy.
    monkeypatch.setattr(champion_cache, "_MODELS", {})
    second = ChampionCache(tmp_path / "cache", factory, ttl_s=600)
    again, info2 = second.loader("2026-11-20")(KEY)
    assert second.registry_lookups == 0 and len(made) == 1 and info2 == info
    np.testing.assert_allclose(again.predict(y, 6).mean, loaded.predict(y, 6).mean)
    # Past the TTL the registry is asked again (a new champion tonight is picked up within ttl_s).
    stale = ChampionCache(tmp_path / "cache", factory, ttl_s=0)
    stale.loader("2026-11-20")(KEY)
    assert stale.registry_lookups == 1
