"""The whole graph on a day whose log fields carry hostile values: every job succeeds and nothing reaches Slack raw.

The values are written into the log files themselves (not into the warehouse), so ingestion, validation, drift,
quality, security, forecasting, anomalies, the resource forecast and the alert sensor all meet them.
"""

from __future__ import annotations

import json
import zlib

import dagster as dg
import pytest
import yaml
from hostile import HOSTILE
from slack_server import SlackServer

from monitor_pipeline.definitions import build_definitions
from monitor_pipeline.defs.alerting.sensors import alert_sensor
from monitor_pipeline.resources.slack import SlackAlertsResource
from monitor_pipeline.simulate import simulate

pytestmark = pytest.mark.slow

ALERTS = {
    "channels": {"alerts": {"slack_channel": "#t"}},
    "defaults": {"cooldown": "0s", "renotify": "0s", "resolve_quiet": "1d"},
    "delivery": {"max_attempts": 3, "backoff": "0s", "timeout_s": 2},
}


def _pick(value: str) -> str:
    return HOSTILE[zlib.crc32(value.encode()) % len(HOSTILE)]


def _poison(path) -> None:
    """Every model, operation and user_id of the file becomes one of HOSTILE (the same input, the same value)."""
    out = []
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
        except ValueError:  # the simulator's own broken lines stay as they are
            out.append(line)
            continue
        if not isinstance(rec, dict):
            out.append(line)
            continue
        for col in ("model", "operation", "user_id"):
            if rec.get(col) is not None:
                rec[col] = _pick(f"{col}:{rec[col]}")
        out.append(json.dumps(rec))
    path.write_text("\n".join(out) + "\n")


def test_every_job_succeeds_on_a_hostile_day(tmp_path, monkeypatch):
    sim = simulate(tmp_path / "sim", days=2, requests_per_day=3000, seed=1)
    day = sim["days"][-1]["day"]
    _poison(tmp_path / "sim" / f"requests-{day}.jsonl")
    cfg = tmp_path / "configs" / "pipeline.yaml"
    cfg.parent.mkdir()
    (tmp_path / "configs" / "alerts.yaml").write_text(yaml.safe_dump(ALERTS))
    cfg.write_text(
        yaml.safe_dump(
            {
                "data_dir": str(tmp_path / "data"),
                "partitions": {"start_date": "2026-11-01"},
                "alerting": {"config": "configs/alerts.yaml"},
                "forecasting": {"models": ["seasonal_naive", "arima"], "history_days": 2},
                "drift": {"min_rows": 100},
                "sources": [
                    {"name": "gateway", "paths": [str(tmp_path / "sim" / "requests-{date}.jsonl")], "format": "jsonl"},
                    {
                        "name": "gpus",
                        "paths": [str(tmp_path / "sim" / "resources-{date}.jsonl")],
                        "format": "resources_jsonl",
                    },
                ],
            }
        )
    )
    server = SlackServer().start()
    monkeypatch.setenv("SLACK_WEBHOOK_URL", server.url)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    try:
        defs = build_definitions(str(cfg))
        with dg.instance_for_test() as instance:
            for d in sim["days"]:
                run = defs.resolve_job_def("ingestion_job").execute_in_process(
                    partition_key=d["day"], instance=instance
                )
                assert run.success, d
            for job in ("forecasting_job", "anomaly_job"):
                assert defs.resolve_job_def(job).execute_in_process(partition_key=day, instance=instance).success, job
            ctx = dg.build_sensor_context(
                instance=instance,
                resources={"slack": SlackAlertsResource(config_path=str(cfg), console=False)},
                definitions=defs,
            )
            alert_sensor(ctx)
    finally:
        server.stop()
    # Alerts went out, and nothing in them is markup Slack would act on.
    assert server.delivered
    payload = json.dumps(server.delivered)
    for raw in ("<!channel>", "<!here>", "<script", "<img"):
        assert raw not in payload, raw
    # ...while the hostile values themselves are there, shown as text (the abusive user's alert names its user).
    assert "&lt;" in payload, payload[:2000]
