"""Shared fixtures: an isolated config + data dir per test, telemetry off."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

for _k, _v in (("DAGSTER_DISABLE_TELEMETRY", "1"), ("MLFLOW_DISABLE_TELEMETRY", "true"), ("DO_NOT_TRACK", "1")):
    os.environ.setdefault(_k, _v)
# One BLAS/OpenMP thread per process (set before numpy, statsmodels or torch load; the servers and runs the tests start
# inherit it). The models the tests fit are small: on a 2-core box a second thread only spins against the first and
# the tests' own servers. An ARIMA fit takes 1.4x as long with two (2x on a busy box), a small LSTM's training 2.5x.
# (The MiniLM encoder of the embedding tests is the exception: 1.3x as long on one thread.) Export a value to override.
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


@pytest.fixture
def torch_on_every_core():
    """Torch on every core for one test: the MiniLM encoder, unlike the small models the other tests fit, runs faster
    on two threads than on the one the environment above gives it."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count() or 1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def spark():
    """One local[2] Spark session for every Spark test (it takes seconds to start)."""
    from monitor_pipeline.resources.spark import get_spark_session
    from monitor_pipeline.settings import SparkConfig

    session = get_spark_session(SparkConfig(master="local[2]"))
    yield session
    session.stop()
