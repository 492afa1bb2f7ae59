"""Evaluation into the outbox: check evaluations, data time vs wall clock, resolution by quiet period."""

from __future__ import annotations

import datetime as dt

from slack_server import T0

from monitor_pipeline.alerts.config import AlertsConfig
from monitor_pipeline.alerts.outbox import Outbox
from monitor_pipeline.alerts.transitions import advance, from_check

NOW = T0 + dt.timedelta(days=7)  # the demo replays simulated days that lie in the past
CFG = AlertsConfig(defaults={"cooldown": "0s", "resolve_quiet": "2d"})


def _check(day: str | None, passed: bool, check: str = "drift_share_below_threshold"):
    meta = {"drift_share": 0.6, "threshold": 0.25, "mlflow_run": "http://mlflow/run/1"}
    return from_check("drift_report", check, passed, "WARN", day, NOW.timestamp(), "run-1", meta, NOW)


def test_a_partitioned_check_is_timed_by_its_partition_and_carries_value_and_links():
    o = _check("2026-11-18", False)
    assert o.at == dt.datetime(2026, 11, 19, tzinfo=dt.UTC) and not o.wall_clock
    assert (o.value, o.threshold, o.severity, o.bad) == (0.6, 0.25, "warning", True)
    assert o.key == "check.drift_share_below_threshold:drift_report" and o.mlflow_run_url == "http://mlflow/run/1"
    assert _check(None, True).wall_clock


def test_wall_clock_observations_do_not_resolve_alerts_about_past_data(tmp_path):
    outbox = Outbox(tmp_path / "alerts.db")
    first = advance(outbox, CFG, [_check("2026-11-18", False)], NOW)
    # an unpartitioned check (probes) evaluated now must not move the data clock days ahead
    later = advance(outbox, CFG, [_check(None, True, check="probe_pass_rate")], NOW)
    assert [a.kind for a in first] == ["firing"] and later == []
    assert outbox.states()["check.drift_share_below_threshold:drift_report"].status == "firing"
    resolved = advance(outbox, CFG, [_check("2026-11-21", True, check="other")], NOW)  # data time moves 3 days on
    assert [(a.key, a.kind) for a in resolved] == [("check.drift_share_below_threshold:drift_report", "resolved")]
    assert outbox.counts()["pending"] == 2


def test_cursor_meta_commits_with_the_entries(tmp_path):
    outbox = Outbox(tmp_path / "alerts.db")
    advance(outbox, CFG, [_check("2026-11-18", False)], NOW, {"cursor:findings": "42"})
    assert outbox.meta("cursor:findings") == "42" and outbox.meta("watermark") == "2026-11-19T00:00:00+00:00"


def test_group_makes_one_alert_per_entity_across_rules(tmp_path):
    from monitor_pipeline.alerts.model import Observation

    cfg = AlertsConfig(defaults={"cooldown": "30m"}, rules=[{"match": "security*", "group": "security"}])
    obs = [
        Observation(
            rule=f"security.{r}", entity="user-9999", severity=sev, bad=True, title=r, at=T0 + dt.timedelta(minutes=i)
        )
        for i, (r, sev) in enumerate(
            [("user_request_rate", "warning"), ("prompt_injection", "warning"), ("secrets_in_text", "critical")]
        )
    ]
    got = advance(Outbox(tmp_path / "alerts.db"), cfg, obs, NOW)
    assert [(a.key, a.kind) for a in got] == [("security:user-9999", "firing"), ("security:user-9999", "escalated")]
    assert got[0].detail["rule"] == "security.user_request_rate"
