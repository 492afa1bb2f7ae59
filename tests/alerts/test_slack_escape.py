"""Data in alerts reaches Slack escaped: no <!channel>/<!here> ping, no link or mention from a model or user id."""

from __future__ import annotations

import datetime as dt
import json

from slack_server import T0, SlackServer

from monitor_pipeline.alerts.cycle import run_once
from monitor_pipeline.alerts.findings import Finding, FindingStore
from monitor_pipeline.alerts.model import Alert
from monitor_pipeline.alerts.slack import LocalTransport, WebApiTransport, blocks
from monitor_pipeline.settings import load_config

MLFLOW = "http://127.0.0.1:5000/#/experiments/1/runs/abc"
RAW = ("<!channel>", "<!here>", "<@U0BOSS>", "<http://evil.example|click>")


def _payload_text(body: dict) -> str:
    """Every text Slack would render from a delivered message (top-level text, all blocks)."""
    return json.dumps({"text": body.get("text"), "blocks": body.get("blocks")}, ensure_ascii=False)


def _assert_inert(body: dict) -> None:
    text = _payload_text(body)
    for raw in RAW:
        assert raw not in text, raw
    assert "&lt;!channel&gt;" in text and "&lt;!here&gt;" in text


def test_user_id_and_model_from_a_finding_arrive_escaped_through_the_webhook(alert_env, clock, slack):
    cfg_path, _ = alert_env
    cfg = load_config(cfg_path)
    now = clock()
    finding = Finding(
        source="security_findings",
        rule="security.request_rate",
        entity="<!here>:user:<!channel>",
        severity="critical",
        title="user <!channel> sent 900 requests in 5 min to model <!here> (<@U0BOSS>, <http://evil.example|click>)",
        value=900.0,
        threshold=300.0,
        window_start=now - dt.timedelta(minutes=5),
        window_end=now,
        dagster_run_id="run-1",
        mlflow_run_url=MLFLOW,
    )
    FindingStore(cfg.findings_path()).replace("security_findings", "2026-11-18", [finding])
    _, report = run_once(cfg, clock=clock, env={"SLACK_WEBHOOK_URL": slack.url}, console=None)
    assert report.sent == 1 and len(slack.delivered) == 1
    body = slack.delivered[0]
    _assert_inert(body)
    assert "user &lt;!channel&gt; sent 900 requests" in body["text"]
    fields = " ".join(f["text"] for f in body["blocks"][2]["fields"])
    assert "*Key*\n`security.request_rate:&lt;!here&gt;:user:&lt;!channel&gt;`" in fields
    links = body["blocks"][3]["elements"][0]["text"]
    assert f"<{MLFLOW}|MLflow run>" in links  # our own link markup still works
    assert all(b["text"].get("verbatim") for b in body["blocks"][1:2])


def _alert(**kw) -> Alert:
    base = dict(
        key="quality.floor:<!channel>",
        kind="firing",
        rule="quality.floor",
        entity="<!channel>",
        severity="warning",
        state="firing",
        title="accuracy of model <!here> under its floor for user <!channel>",
        at=T0,
        value=0.5,
        threshold=0.8,
        source="quality_report <b>",
        dagster_run_id="run-9",
        mlflow_run_url=MLFLOW,
    )
    return Alert(**{**base, **kw})


def test_web_api_message_is_escaped_and_keeps_the_run_links():
    server = SlackServer(token="xoxb-0000-1111-t0k3nF0rEscap3").start()
    try:
        t = WebApiTransport(
            "xoxb-0000-1111-t0k3nF0rEscap3",
            "#alerts",
            timeout_s=2,
            dagster_url="http://127.0.0.1:3000",
            base_url=f"http://127.0.0.1:{server.port}/api/",
        )
        assert t.send(_alert()).ok
    finally:
        server.stop()
    body = server.delivered[0]
    # chat.postMessage carries blocks as a JSON string in the form body
    body = {**body, "blocks": json.loads(body["blocks"]) if isinstance(body["blocks"], str) else body["blocks"]}
    _assert_inert(body)
    links = body["blocks"][3]["elements"][0]["text"]
    assert "<http://127.0.0.1:3000/runs/run-9|Dagster run>" in links and f"<{MLFLOW}|MLflow run>" in links
    assert "quality_report &lt;b&gt;" in _payload_text(body)


def test_header_plain_text_and_summary_are_escaped_like_slack_documents():
    msg = blocks(_alert(title="a & b <!here>"))
    assert msg["blocks"][0]["text"] == {
        "type": "plain_text",
        "text": ":warning: WARNING: a &amp; b &lt;!here&gt;",
        "emoji": True,
    }
    assert msg["blocks"][1]["text"]["text"].startswith("Firing: a &amp; b &lt;!here&gt;")
    assert msg["text"] == "WARNING firing: a &amp; b &lt;!here&gt;"


def test_local_console_line_carries_no_terminal_escape(tmp_path):
    lines: list[str] = []
    assert (
        LocalTransport(tmp_path / "a.jsonl", "alerts", lines.append).send(_alert(title="x\x1b]0;pwned\x07\x1b[2J")).ok
    )
    assert "\x1b" not in lines[0] and "\\x1b]0;pwned\\x07" in lines[0]
