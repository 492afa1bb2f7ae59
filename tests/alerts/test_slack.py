"""Block Kit rendering, the three transports, and secrets kept out of every text."""

from __future__ import annotations

import datetime as dt
import json
import logging

from slack_server import T0, SlackServer

from monitor_pipeline.alerts.model import Alert
from monitor_pipeline.alerts.slack import LocalTransport, WebApiTransport, WebhookTransport, blocks, scrub

TOKEN = "xoxb-0000-1111-s3cr3tB0tT0k3n"


def _alert(**kw) -> Alert:
    base = dict(
        key="anomaly:requests.count",
        kind="firing",
        rule="anomaly",
        entity="requests.count",
        severity="critical",
        state="firing",
        title="requests.count above forecast",
        at=T0,
        value=412.0,
        expected=100.0,
        threshold=300.0,
        window_start=T0 - dt.timedelta(minutes=10),
        window_end=T0,
        source="anomalies",
        dagster_run_id="run-1",
        mlflow_run_url="http://127.0.0.1:5000/#/experiments/1/runs/abc",
    )
    return Alert(**{**base, **kw})


def test_block_kit_has_header_severity_fields_and_links():
    msg = blocks(_alert(), "http://127.0.0.1:3000")
    kinds = [b["type"] for b in msg["blocks"]]
    assert kinds == ["header", "section", "section", "context"]
    assert "CRITICAL" in msg["blocks"][0]["text"]["text"]
    fields = " ".join(f["text"] for f in msg["blocks"][2]["fields"])
    for part in ("*Severity*\ncritical", "*Value*\n412", "*Threshold*\n300", "*Expected*\n100", "*Window*"):
        assert part in fields
    links = msg["blocks"][3]["elements"][0]["text"]
    assert "<http://127.0.0.1:3000/runs/run-1|Dagster run>" in links and "|MLflow run>" in links
    assert "value 412, threshold 300, expected 100, window" in msg["blocks"][1]["text"]["text"]
    resolved = blocks(_alert(kind="resolved", state="resolved", since=T0 - dt.timedelta(hours=1)))
    assert resolved["blocks"][0]["text"]["text"].startswith(":white_check_mark: RESOLVED")


def test_web_api_through_dagster_slack_and_its_429(caplog):
    caplog.set_level(logging.DEBUG)
    server = SlackServer(token=TOKEN).start()
    try:
        t = WebApiTransport(TOKEN, "#alerts", timeout_s=2, base_url=server.api_url, inline_retry_max_s=0)
        assert t.send(_alert()).ok
        assert server.delivered[0]["channel"] == "#alerts" and "blocks" in server.delivered[0]
        server.set("429")
        server.retry_after = 7
        res = t.send(_alert())
        assert not res.ok and res.retry_after == 7 and not res.permanent
        server.set("refuse")
        res = t.send(_alert())
        assert not res.ok and not res.permanent and TOKEN not in res.response
    finally:
        server.stop()
    assert TOKEN not in caplog.text


def test_exception_text_that_contains_the_webhook_url_is_scrubbed(caplog):
    caplog.set_level(logging.DEBUG)
    url = "ftp://hooks.example.invalid/services/T1/B1/an0th3rS3cr3tP4th"  # slack-sdk puts a bad URL in its error
    res = WebhookTransport(url, timeout_s=1).send(_alert())
    assert not res.ok and "Invalid URL" in res.response and "an0th3rS3cr3tP4th" not in res.response
    assert "an0th3rS3cr3tP4th" not in caplog.text and scrub(f"x {url} y") == "x *** y"


def test_local_transport_writes_jsonl_and_the_console(tmp_path):
    lines: list[str] = []
    t = LocalTransport(tmp_path / "alerts.jsonl", "alerts", lines.append)
    assert t.send(_alert()).ok and t.send(_alert(kind="resolved", state="resolved")).ok
    rows = [json.loads(x) for x in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert [r["alert"]["kind"] for r in rows] == ["firing", "resolved"] and rows[0]["blocks"]
    assert "CRITICAL" in lines[0] and "anomaly:requests.count" in lines[0]
