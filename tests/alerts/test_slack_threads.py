"""Slack as on-call teams use it, against the loopback Slack: one thread per incident through the bot token, the
webhook saying once that it cannot thread, readable numbers, the key once, run links on every message."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time

from slack_server import T0, SlackServer

from monitor_pipeline.alerts.cycle import run_once
from monitor_pipeline.alerts.deliver import deliver, thread_meta
from monitor_pipeline.alerts.findings import Finding, FindingStore
from monitor_pipeline.alerts.model import Alert, Observation
from monitor_pipeline.alerts.outbox import Outbox
from monitor_pipeline.alerts.slack import Thread, WebApiTransport
from monitor_pipeline.settings import load_config

MLFLOW = "http://127.0.0.1:5000/#/experiments/3/runs/9f8e7d"
KEY = "anomaly:requests.latency_p95_ms"


def _finding(at: dt.datetime, value: float, severity: str = "warning") -> Finding:
    return Finding(
        source="anomalies",
        rule="anomaly",
        entity="requests.latency_p95_ms",
        severity=severity,  # type: ignore[arg-type]
        title="requests.latency_p95_ms above forecast",
        value=value,
        expected=1234.5,
        window_start=at - dt.timedelta(minutes=5),
        window_end=at,
        dagster_run_id="run-42",
        mlflow_run_url=MLFLOW,
    )


def _incident(alert_env, clock, env: dict[str, str]) -> list[list[str]]:
    """Fire, still firing, escalate, resolve, fire again; return each tick's delivery notes."""
    path, write_alerts = alert_env
    write_alerts(defaults={"cooldown": "0s", "renotify": "10m", "resolve_quiet": "1h", "flap": {"changes": 50}})
    cfg = load_config(path)
    store = FindingStore(cfg.findings_path())
    notes = []
    steps: list[tuple[str, float | None, str]] = [
        ("firing", 28190.4, "warning"),
        ("renotify", 29004.0, "warning"),
        ("escalated", 41250.0, "critical"),
        ("resolved", None, ""),
        ("firing", 30100.0, "warning"),
    ]
    for i, (_, value, severity) in enumerate(steps):
        clock.advance(minutes=15)
        now = clock()
        obs = []
        if value is None:
            good = Observation("anomaly", "requests.latency_p95_ms", "warning", False, now, "latency back to normal")
            obs.append(good)
        else:
            store.replace("anomalies", f"tick-{i}", [_finding(now, value, severity)])
        _, report = run_once(cfg, obs, clock=clock, env=env, console=None)
        assert report is not None and report.sent == 1, report.as_dict()
        notes.append(report.notes)
    return notes


def _blocks(body: dict) -> list[dict]:
    return json.loads(body["blocks"]) if isinstance(body["blocks"], str) else body["blocks"]


def _text(body: dict) -> str:
    return json.dumps({"text": body.get("text"), "blocks": _blocks(body)}, ensure_ascii=False)


def test_follow_ups_reply_in_the_thread_of_the_first_message(alert_env, clock, slack, caplog):
    caplog.set_level(logging.DEBUG)
    _incident(alert_env, clock, slack.bot_env())
    msgs = slack.delivered
    assert [m["text"].split(":")[0] for m in msgs] == [
        "WARNING firing",
        "WARNING renotify",
        "CRITICAL escalated",
        "CRITICAL resolved",
        "WARNING firing",
    ]
    first, renotify, escalated, resolved, again = msgs
    assert first["channel"] == "#t" and "thread_ts" not in first
    for reply in (renotify, escalated, resolved):
        # replies name the channel by the ID Slack answered with, and the parent's ts (never a reply's)
        assert reply["thread_ts"] == first["ts"] and reply["channel"] == first["channel_id"] == "C0T"
    assert "reply_broadcast" not in renotify  # a reminder stays in the thread
    assert escalated["reply_broadcast"] is True and resolved["reply_broadcast"] is True
    assert "thread_ts" not in again and again["ts"] != first["ts"]  # a new incident opens a new thread
    cfg = load_config(alert_env[0])
    outbox = Outbox.in_data_dir(cfg.data_path())
    assert Thread.from_json(outbox.meta(thread_meta("alerts", KEY))) == Thread(again["ts"], "C0T")
    # readable numbers, the key once per thread, both run links on every message
    assert "value 28,190 ms" in _text(first) and "expected 1,234.5 ms" not in _text(first)
    assert "expected 1,235 ms" in _text(first) and "e+0" not in "".join(_text(m) for m in msgs)
    assert _text(first).count(KEY) == 1 and _blocks(first)[0]["type"] == "header"
    for reply in (renotify, escalated, resolved):
        assert KEY not in _text(reply) and _blocks(reply)[0]["type"] == "section"
    for m in msgs:
        links = _blocks(m)[-1]["elements"][0]["text"]
        assert "<http://127.0.0.1:3000/runs/run-42|Dagster run>" in links and f"<{MLFLOW}|MLflow run>" in links
    assert "41,250 ms" in _text(escalated) and ":white_check_mark: Resolved" in _text(resolved)
    responses = [e.response for e in outbox.entries("sent")]
    assert all("ts=" in r for r in responses) and sum("thread_ts=" in r for r in responses) == 3
    assert slack.token not in caplog.text and all(slack.token not in (r or "") for r in responses)


def test_the_webhook_cannot_thread_and_says_so_once(alert_env, clock, slack, caplog):
    caplog.set_level(logging.WARNING, logger="monitor_pipeline.alerts.deliver")
    notes = _incident(alert_env, clock, {"SLACK_WEBHOOK_URL": slack.url})
    assert notes[0] == [] and len(notes[1]) == 1 and notes[2:] == [[], [], []]
    assert "cannot reply in a thread" in notes[1][0] and "SLACK_BOT_TOKEN" in notes[1][0]
    assert caplog.text.count("cannot reply in a thread") == 1 and slack.url not in caplog.text
    # every webhook message stands alone: with its header and its key
    for m in slack.delivered:
        assert "thread_ts" not in m and _blocks(m)[0]["type"] == "header" and _text(m).count(KEY) == 1


def _alert(kind: str = "firing") -> Alert:
    state = "resolved" if kind == "resolved" else "firing"
    return Alert(
        key="check.error_rate:request_windows",
        kind=kind,  # type: ignore[arg-type]
        rule="check.error_rate",
        entity="request_windows",
        severity="warning",
        state=state,  # type: ignore[arg-type]
        title="error rate above its limit",
        at=T0,
        value=0.1362,
        threshold=0.05,
        dagster_run_id="run-7",
        mlflow_run_url=MLFLOW,
    )


def test_a_short_retry_after_is_waited_in_the_send_a_long_one_goes_back_to_the_outbox():
    server = SlackServer().start()
    try:
        t = WebApiTransport(server.token, "#alerts", timeout_s=2, base_url=server.api_url, inline_retry_max_s=5)
        server.retry_after, server.next_modes = 1, ["429"]
        start = time.monotonic()
        res = t.send(_alert())
        waited = time.monotonic() - start
        assert res.ok and res.ts and [m for _, m in server.requests] == ["429", "ok"]
        assert 1.0 <= waited < 8.0  # Retry-After 1 s plus at most 1 s of jitter, never earlier (slack for slow CI)
        server.retry_after, server.next_modes = 600, ["429"]
        res = t.send(_alert())
        assert not res.ok and res.retry_after == 600 and not res.permanent and len(server.requests) == 3
        assert "13.6 %" in json.dumps(server.delivered[0]) and "5.0 %" in json.dumps(server.delivered[0])
    finally:
        server.stop()


def test_ok_false_errors_carry_slacks_error_string_and_never_the_token(caplog):
    caplog.set_level(logging.DEBUG)
    server = SlackServer().start()
    try:
        nowhere = WebApiTransport(server.token, "#nowhere", timeout_s=2, base_url=server.api_url)
        res = nowhere.send(_alert())
        assert not res.ok and res.permanent and res.error == "channel_not_found"
        assert res.response == "Slack API error: channel_not_found"
        wrong = WebApiTransport("xoxb-9999-wr0ngT0k3nV4lu3", "#alerts", timeout_s=2, base_url=server.api_url)
        res = wrong.send(_alert())
        assert not res.ok and res.permanent and res.error == "invalid_auth"
        server.set("api_error")  # Slack's own trouble: worth another try
        res = WebApiTransport(server.token, "#alerts", timeout_s=2, base_url=server.api_url).send(_alert())
        assert not res.ok and not res.permanent and res.error == "internal_error"
    finally:
        server.stop()
    assert server.delivered == []
    for token in (server.token, "wr0ngT0k3nV4lu3"):
        assert token not in caplog.text


def test_a_thread_slack_no_longer_knows_gets_a_new_first_message(alert_env, clock, slack):
    cfg = load_config(alert_env[0])
    outbox = Outbox.in_data_dir(cfg.data_path())
    outbox.set_meta({thread_meta("alerts", "check.error_rate:request_windows"): Thread("1.000001", "C0T").to_json()})
    outbox.commit([(_alert("renotify"), ["alerts"])], [], {}, clock())
    t = WebApiTransport(slack.token, "#t", timeout_s=2, base_url=slack.api_url)
    from monitor_pipeline.alerts.config import Delivery

    report = deliver(outbox, {"alerts": t}, Delivery(timeout_s=2), clock)
    assert report.sent == 1 and len(slack.delivered) == 1 and "thread_ts" not in slack.delivered[0]
    stored = Thread.from_json(outbox.meta(thread_meta("alerts", "check.error_rate:request_windows")))
    assert stored == Thread(slack.delivered[0]["ts"], "C0T")  # later replies go under the new message
