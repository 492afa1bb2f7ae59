"""`monitor-pipeline alerts list|send|test|requeue`."""

from __future__ import annotations

import json

from slack_server import T0

from monitor_pipeline.alerts.findings import Finding, FindingStore
from monitor_pipeline.cli import main
from monitor_pipeline.settings import load_config


def test_send_list_test_and_requeue(alert_env, capsys, monkeypatch):
    path, write_alerts = alert_env
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    cfg = load_config(path)
    FindingStore(cfg.findings_path()).replace(
        "security_findings",
        "2026-11-18",
        [
            Finding(
                source="security_findings",
                rule="security.prompt_injection",
                entity="user-9999",
                severity="critical",
                title="prompt injection from user-9999",
                value=12,
                threshold=3,
                window_end=T0,
            )
        ],
    )
    assert main(["--config", str(path), "alerts", "send"]) == 0
    out = capsys.readouterr().out
    assert "security.prompt_injection:user-9999" in out  # the console transport
    assert json.loads(out.strip().splitlines()[-1])["sent"] == 1
    assert main(["--config", str(path), "alerts", "list", "--state", "sent"]) == 0
    listed = capsys.readouterr().out
    assert "sent" in listed and "prompt injection from user-9999" in listed and "sent 1, dead 0" in listed
    assert main(["--config", str(path), "alerts", "test"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["channels"] == {"alerts": "local"}
    lines = (cfg.data_path() / "alerts" / "alerts.jsonl").read_text().splitlines()
    assert [json.loads(x)["alert"]["rule"] for x in lines] == ["security.prompt_injection", "test"]
    assert main(["--config", str(path), "alerts", "requeue"]) == 0
    assert json.loads(capsys.readouterr().out)["requeued"] == 0
    assert main(["--config", str(path), "alerts", "test", "--channel", "nope"]) == 2
    assert "unknown channel(s) nope" in capsys.readouterr().err
