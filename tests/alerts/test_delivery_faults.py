"""Fault tests against the loopback Slack: outages over many ticks lose nothing, send nothing twice, keep order."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import defaultdict

from slack_server import T0, message_id

from monitor_pipeline.alerts.cycle import run_once
from monitor_pipeline.alerts.findings import Finding, FindingStore
from monitor_pipeline.alerts.outbox import Outbox
from monitor_pipeline.settings import load_config

# mode of the loopback Slack per 5-minute tick: a rate limit, errors, a hang, a closed port, then recovery
SCRIPT = ["ok"] * 4 + ["429", "500", "500", "hang", "hang", "refuse", "refuse", "refuse"] + ["ok"] * 12


def _findings(tick: int, now: dt.datetime) -> list[Finding]:
    """Five keys going bad and quiet out of phase: each fires and resolves several times."""
    return [
        Finding(
            source="faults",
            rule="anomaly.fault",
            entity=f"k{k}",
            severity="warning",
            title=f"key {k} bad",
            value=float(tick),
            window_start=now - dt.timedelta(minutes=5),
            window_end=now,
        )
        for k in range(5)
        if (tick + k) % 5 in (0, 1)
    ]


def run_outage(cfg_path, clock, slack) -> dict:
    """Drive ticks through SCRIPT and then until the outbox drains; return the figures."""
    cfg = load_config(cfg_path)
    store, outbox = FindingStore(cfg.findings_path()), Outbox.in_data_dir(cfg.data_path())
    env = {"SLACK_WEBHOOK_URL": slack.url}
    retry_after_ok, errors = [], []
    for tick, mode in enumerate(SCRIPT + ["ok"] * 10):
        slack.retry_after = 590  # + up to 1 s of jitter: the retry lands on the tick 10 min later
        slack.set(mode)
        if tick < len(SCRIPT):
            store.replace("faults", f"tick-{tick}", _findings(tick, clock()))
        before = len(slack.requests)
        _, report = run_once(cfg, clock=clock, env=env, console=None)
        errors += report.errors
        if mode == "429" and len(slack.requests) > before:
            retry_after_ok.append(clock())
        clock.advance(minutes=5)
        if tick >= len(SCRIPT) and outbox.counts()["pending"] == 0:
            break
    entries = outbox.entries(limit=10**6)
    got = [message_id(b) for b in slack.delivered]
    generated = {e.idempotency_key.split(":")[0]: e for e in entries}
    order = defaultdict(list)
    for e in entries:
        order[e.alert_key].append(e.idempotency_key.split(":")[0])
    received = defaultdict(list)
    for g in got:
        received[generated[g].alert_key].append(g)
    after_429 = [t for t, m in slack.requests if retry_after_ok and t > retry_after_ok[0]]
    return {
        "generated": len(generated),
        "delivered": len(set(got)),
        "duplicated": len(got) - len(set(got)),
        "lost": len(set(generated) - set(got)),
        "dead": outbox.counts()["dead"],
        "order_kept": all(received[k] == order[k] for k in order),
        "requests": len(slack.requests),
        "first_request_after_429_s": (after_429[0] - retry_after_ok[0]).total_seconds() if after_429 else None,
        "modes": sorted({m for _, m in slack.requests}),
        "refused": sum("refused" in e for e in errors),
        "timed_out": sum("timed out" in e for e in errors),
    }


def test_outage_over_many_ticks_loses_nothing_and_sends_nothing_twice(alert_env, clock, slack, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    figures = run_outage(alert_env[0], clock, slack)
    assert figures["generated"] >= 20
    assert figures["delivered"] == figures["generated"]
    assert figures["duplicated"] == 0 and figures["lost"] == 0 and figures["dead"] == 0
    assert figures["order_kept"]
    assert figures["first_request_after_429_s"] >= 590  # Retry-After: 590 honoured (never early)
    assert {"429", "500", "hang", "ok"} <= set(figures["modes"])
    assert figures["refused"] >= 1 and figures["timed_out"] >= 1
    # the webhook URL is in no log record, no outbox column, no state
    cfg = load_config(alert_env[0])
    secret = slack.url.split("/services/")[1]
    assert secret not in caplog.text and secret not in capsys.readouterr().out
    print("ALERT FAULT FIGURES", json.dumps(figures))
    for f in cfg.data_path().glob("alerts.db*"):
        assert secret.encode() not in f.read_bytes()
    errors = [e.last_error for e in Outbox.in_data_dir(cfg.data_path()).entries(limit=10**6) if e.last_error]
    assert not any(secret in e for e in errors)


def test_retries_then_dead_letter_after_max_attempts(alert_env, clock, slack):
    path, write_alerts = alert_env
    write_alerts(delivery={"max_attempts": 3, "backoff": "1s", "backoff_max": "1s", "timeout_s": 0.5})
    cfg = load_config(path)
    FindingStore(cfg.findings_path()).replace(
        "x", None, [Finding(source="x", rule="security.x", entity="u", severity="critical", title="bad", window_end=T0)]
    )
    slack.set("500")
    for _ in range(4):
        run_once(cfg, clock=clock, env={"SLACK_WEBHOOK_URL": slack.url}, console=None)
        clock.advance(seconds=5)
    outbox = Outbox.in_data_dir(cfg.data_path())
    dead = outbox.entries("dead")
    assert len(dead) == 1 and dead[0].attempts == 3 and "HTTP 500" in dead[0].last_error
    assert slack.requests and slack.delivered == []
    slack.set("ok")
    assert outbox.requeue_dead(clock()) == 1
    run_once(cfg, clock=clock, env={"SLACK_WEBHOOK_URL": slack.url}, console=None)
    assert outbox.counts() == {"pending": 0, "sent": 1, "dead": 0} and len(slack.delivered) == 1


def test_a_rejected_webhook_is_dead_letter_at_once(alert_env, clock, slack):
    cfg = load_config(alert_env[0])
    FindingStore(cfg.findings_path()).replace(
        "x", None, [Finding(source="x", rule="r", entity="u", severity="info", title="t", window_end=T0)]
    )
    slack.set("404")
    run_once(cfg, clock=clock, env={"SLACK_WEBHOOK_URL": slack.url}, console=None)
    dead = Outbox.in_data_dir(cfg.data_path()).entries("dead")
    assert len(dead) == 1 and dead[0].attempts == 1 and "HTTP 404: no_service" in dead[0].last_error
