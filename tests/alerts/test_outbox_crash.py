"""A process killed (SIGKILL) after writing the outbox and before sending loses nothing on restart."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys

from slack_server import T0, message_id

from monitor_pipeline.alerts.cycle import run_once
from monitor_pipeline.alerts.findings import Finding, FindingStore
from monitor_pipeline.alerts.outbox import Outbox
from monitor_pipeline.settings import load_config

CHILD = """
import sys, time, datetime as dt
from monitor_pipeline.alerts.cycle import run_once
from monitor_pipeline.settings import load_config
run_once(load_config(sys.argv[1]), clock=lambda: dt.datetime.fromisoformat(sys.argv[2]), send=False, console=None)
print("written", flush=True)
time.sleep(600)  # killed here: between the outbox write and the send
"""


def test_sigkill_between_write_and_send_loses_nothing(alert_env, clock, slack):
    cfg = load_config(alert_env[0])
    FindingStore(cfg.findings_path()).replace(
        "x",
        None,
        [
            Finding(
                source="x",
                rule="security.rate",
                entity=f"user-{i}",
                severity="critical",
                title=f"user {i}",
                window_end=T0 - dt.timedelta(minutes=i),
            )
            for i in range(5)
        ],
    )
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(alert_env[0]), T0.isoformat()],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "SLACK_WEBHOOK_URL": slack.url},
    )
    try:
        assert child.stdout.readline().strip() == "written"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    outbox = Outbox.in_data_dir(cfg.data_path())
    assert outbox.counts() == {"pending": 5, "sent": 0, "dead": 0} and slack.delivered == []
    # restart: a new evaluation finds no new findings (the cursor was committed with the entries), delivery sends all
    alerts, report = run_once(cfg, clock=clock, env={"SLACK_WEBHOOK_URL": slack.url}, console=None)
    assert alerts == [] and report.sent == 5
    ids = [message_id(b) for b in slack.delivered]
    assert len(ids) == len(set(ids)) == 5
    assert outbox.counts() == {"pending": 0, "sent": 5, "dead": 0}
    print(
        "SIGKILL FIGURES",
        json.dumps(
            {
                "generated": 5,
                "delivered": len(set(ids)),
                "duplicated": len(ids) - len(set(ids)),
                "lost": 5 - len(set(ids)),
            }
        ),
    )


def test_repeating_an_evaluation_adds_nothing(alert_env, clock):
    cfg = load_config(alert_env[0])
    FindingStore(cfg.findings_path()).replace(
        "x", None, [Finding(source="x", rule="r", entity="e", severity="info", title="t", window_end=T0)]
    )
    outbox = Outbox.in_data_dir(cfg.data_path())
    first, _ = run_once(cfg, clock=clock, send=False, console=None)
    outbox.set_meta({"cursor:findings": "0", "watermark": None})  # as if the cursor commit had been lost
    second, _ = run_once(cfg, clock=clock, send=False, console=None)
    assert len(first) == 1 and second == [] and outbox.counts()["pending"] == 1


def test_one_deliverer_at_a_time(alert_env, clock, slack):
    from monitor_pipeline.alerts.config import Delivery
    from monitor_pipeline.alerts.deliver import deliver

    cfg = load_config(alert_env[0])
    outbox = Outbox.in_data_dir(cfg.data_path())
    assert outbox.lease("other-process", clock(), dt.timedelta(seconds=50))
    report = deliver(outbox, {}, Delivery(timeout_s=10), clock)
    assert not report.leased
    clock.advance(seconds=51)  # the holder died: its lease runs out
    assert deliver(outbox, {}, Delivery(timeout_s=10), clock).leased
