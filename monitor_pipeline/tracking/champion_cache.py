"""Champions for the live loop: resolved in the registry at most every few minutes, kept on disk and in memory.

A live micro-batch runs every minute or so. Asking MLflow for every series' champion and downloading each model on
every run would cost more than the scoring itself, and champions change once a night. So the registry answer is kept
for `ttl_s` in an index file, each model version's files once on local disk, and each loaded model once per process
(Dagster's default run launcher starts a process per run, so the disk copy is what most runs reuse). What is kept on
disk is the registered pyfunc model itself (MLmodel and artifacts), loaded with `mlflow.pyfunc.load_model`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from monitor_pipeline.forecast.base import Forecaster

_MODELS: dict[str, Forecaster] = {}  # local model dir -> the loaded model, for the life of the process


class ChampionCache:
    """Champion lookups that touch MLflow only when the cached answer is older than `ttl_s`."""

    def __init__(self, cache_dir: str | Path, client_factory: Callable[[], Any], ttl_s: float = 600.0) -> None:
        self.dir, self.client_factory, self.ttl_s = Path(cache_dir), client_factory, ttl_s
        self.dir.mkdir(parents=True, exist_ok=True)
        self._client: Any = None
        self.registry_lookups = 0  # how many series were looked up in MLflow by this cache (for the run's metadata)

    def _index_path(self, partition: str) -> Path:
        return self.dir / f"index-{partition}.json"

    def _index(self, partition: str) -> dict:
        try:
            data = json.loads(self._index_path(partition).read_text())
        except (OSError, ValueError):
            return {}
        return data if time.time() - data.get("resolved_at", 0) < self.ttl_s else {}

    def _save(self, partition: str, index: dict) -> None:
        tmp = self._index_path(partition).with_suffix(".tmp")
        tmp.write_text(json.dumps(index))
        os.replace(tmp, self._index_path(partition))

    def _resolve(self, key: str, partition: str) -> dict | None:
        """Ask the registry for the series' champion; download its files once per version."""
        from monitor_pipeline.tracking.registry import champion_version, download_version

        if self._client is None:
            self._client = self.client_factory()
        self.registry_lookups += 1
        info = champion_version(self._client, key, partition)
        if info is None:
            return None
        local = self.dir / info["name"] / str(info["version"])
        if not local.exists():
            download_version(self._client, info["name"], info["version"], local)
        return {**info, "path": str(local)}

    def loader(self, partition: str) -> Callable[[str], tuple[Forecaster, dict] | None]:
        """A ChampionLoader (forecast.scoring) for `partition` backed by this cache."""
        index = self._index(partition)
        fresh = not index
        if fresh:
            index = {"resolved_at": time.time(), "series": {}}

        def load(key: str) -> tuple[Forecaster, dict] | None:
            series = index["series"]
            if key not in series:
                series[key] = self._resolve(key, partition)
                self._save(partition, index)
            info = series[key]
            if info is None:
                return None
            model = _MODELS.get(info["path"])
            if model is None:
                from monitor_pipeline.tracking.forecaster_model import load_forecaster

                model = _MODELS[info["path"]] = load_forecaster(Path(info["path"])).forecaster
            return model, {k: v for k, v in info.items() if k != "path"} | {"model": model.name}

        return load
