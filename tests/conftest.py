"""Shared fixtures: an isolated config + data dir per test, telemetry off."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

for _k, _v in (("DAGSTER_DISABLE_TELEMETRY", "1"), ("MLFLOW_DISABLE_TELEMETRY", "true"), ("DO_NOT_TRACK", "1")):
    os.environ.setdefault(_k, _v)
# One BLAS/OpenMP thread per process (set before numpy, statsmodels or torch load; the servers and runs the tests start
# inherit it). The models here are small: threads only spin against each other and the test's own servers, and a
# statsmodels SARIMAX fit runs up to twice as long on a busy 2-core box. Export a value to override.
for _k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_k, "1")


@pytest.fixture
def write_config(tmp_path: Path):
    """Write a pipeline YAML into tmp_path/configs and return its path; data_dir defaults to tmp_path/data."""

    def _write(sources: list[dict], **extra) -> Path:
        cfg_dir = tmp_path / "configs"
        cfg_dir.mkdir(exist_ok=True)
        data = {"data_dir": str(tmp_path / "data"), "partitions": {"start_date": "2026-11-01"}, "sources": sources}
        data.update(extra)
        path = cfg_dir / "pipeline.yaml"
        path.write_text(yaml.safe_dump(data))
        return path

    return _write


@pytest.fixture(scope="session")
def spark():
    """One local[2] Spark session for every Spark test (it takes seconds to start)."""
    from monitor_pipeline.resources.spark import get_spark_session
    from monitor_pipeline.settings import SparkConfig

    session = get_spark_session(SparkConfig(master="local[2]"))
    yield session
    session.stop()
