"""Shared fixtures: an isolated config + data dir per test, telemetry off."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

for _k, _v in (("DAGSTER_DISABLE_TELEMETRY", "1"), ("MLFLOW_DISABLE_TELEMETRY", "true"), ("DO_NOT_TRACK", "1")):
    os.environ.setdefault(_k, _v)

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "assets" / "sample_logs"
SHARED_DATA = ROOT.parent / "shared" / "data"


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
