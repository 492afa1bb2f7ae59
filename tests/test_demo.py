"""The demo end to end, small: simulate, materialize every partition, report, plots and MLflow runs."""

from __future__ import annotations

import json

import pytest
import yaml
from mlflow.tracking import MlflowClient

from monitor_pipeline.demo import run_demo

pytestmark = pytest.mark.slow


def test_demo_small(tmp_path, monkeypatch):
    cfg = tmp_path / "configs" / "pipeline.yaml"
    cfg.parent.mkdir()
    cfg.write_text(
        yaml.safe_dump(
            {
                "data_dir": "data",
                "sources": [
                    {"name": "gateway", "paths": ["data/sim/requests-{date}.jsonl"], "format": "jsonl"},
                    {"name": "gpus", "paths": ["data/sim/resources-{date}.jsonl"], "format": "resources_jsonl"},
                    {"name": "online", "paths": ["data/sim/online.log"], "format": "online_log"},
                    {"name": "offline", "paths": ["data/sim/offline.log"], "format": "offline_log"},
                ],
            }
        )
    )
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    lines: list[str] = []
    report = run_demo(str(cfg), days=2, requests_per_day=4000, out=lines.append)
    text = "\n".join(lines)
    assert set(report["days"]) == {"2026-11-17", "2026-11-18"}
    for day, r in report["days"].items():
        assert r["read"] == r["clean"] + r["quarantined"] + r["skipped"] + r["other_partitions"]
        assert r["windows_5m"] > 0 and r["gpu_rows"] == 6 * 8640
        assert sorted(p.name for p in (tmp_path / "data" / "plots" / day).iterdir()) == [
            "engine_latency.png",
            "engine_queue_kv.png",
            "gpu_memory.png",
            "latency_errors.png",
            "offline_jobs.png",
            "online_requests.png",
        ]
    assert "demo finished in" in text and "make ui" in text and "incidents.json" in text
    inc = json.loads((tmp_path / "data" / "sim" / "incidents.json").read_text())
    assert len(inc) == 7
    client = MlflowClient(f"sqlite:///{tmp_path / 'data' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("monitor_pipeline/ingestion")
    assert len(client.search_runs([exp.experiment_id], "tags.`dagster.asset_key` = 'partition_plots'")) == 2
