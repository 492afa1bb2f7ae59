"""The alert sensors: new failed checks and findings, failed runs, silent sources -> outbox -> Slack.

Every sensor commits to the outbox first and only then delivers; a Slack outage leaves entries pending for the
next tick (backoff, Retry-After) and never fails the tick.
"""

from __future__ import annotations

import json

import dagster as dg

from monitor_pipeline.alerts.cycle import new_findings
from monitor_pipeline.alerts.deliver import DeliveryReport
from monitor_pipeline.alerts.failures import failure_cause, run_failure
from monitor_pipeline.alerts.findings import FindingStore
from monitor_pipeline.alerts.model import Alert, Observation
from monitor_pipeline.alerts.nodata import freshness
from monitor_pipeline.alerts.transitions import advance
from monitor_pipeline.defs.alerting.observe import new_check_evaluations
from monitor_pipeline.resources.slack import SlackAlertsResource

OUTBOX_ASSET = dg.AssetSpec(
    "alert_outbox",
    group_name="alerting",
    description="The durable alert outbox (<data_dir>/alerts.db); observations show pending, sent and dead-letter entries.",
)


def _observe(slack: SlackAlertsResource, alerts: list[Alert], report: DeliveryReport) -> dg.AssetObservation:
    outbox = slack.outbox()
    counts = outbox.counts()
    dead = [e.summary() for e in outbox.entries("dead", limit=20)]
    return dg.AssetObservation(
        asset_key=OUTBOX_ASSET.key,
        metadata={
            "new_alerts": len(alerts),
            "sent_this_tick": report.sent,
            "failed_this_tick": report.failed,
            "pending": counts["pending"],
            "sent": counts["sent"],
            "dead_letter": counts["dead"],
            "dead_letter_entries": dg.MetadataValue.json(dead),
            "new": dg.MetadataValue.json(
                [{"key": a.key, "kind": a.kind, "severity": a.severity, "title": a.title} for a in alerts[:50]]
            ),
            "delivery_errors": dg.MetadataValue.json(report.errors[-5:]),
        },
    )


def process(
    slack: SlackAlertsResource, observations: list[Observation], meta: dict[str, str] | None = None, log=None
) -> tuple[list[Alert], DeliveryReport]:
    """Commit the observations' alerts to the outbox, then run one delivery pass."""
    outbox, now = slack.outbox(), slack.now()
    alerts = advance(outbox, slack.alerts(), observations, now, meta)
    report = slack.deliver()
    for note in report.notes if log else []:
        log.warning(f"alert delivery: {note}")
    if log and report.errors:
        log.warning(
            f"alert delivery: {report.failed} failed, {report.dead} dead-letter; will retry: {report.errors[-1]}"
        )
    return alerts, report


def _result(slack: SlackAlertsResource, alerts: list[Alert], report: DeliveryReport, cursor: str | None = None):
    counts = slack.outbox().counts()
    busy = alerts or report.sent or report.failed or report.dead
    why = (
        f"{len(alerts)} new alert message(s); delivered {report.sent}, failed {report.failed}, "
        f"dead {report.dead}; outbox pending {counts['pending']}, dead-letter {counts['dead']}"
    )
    return dg.SensorResult(
        skip_reason=None if busy else why, cursor=cursor, asset_events=[_observe(slack, alerts, report)] if busy else []
    )


@dg.sensor(
    name="alert_sensor",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="New failed asset checks and finding rows -> alert outbox -> Slack (or the local alert file).",
)
def alert_sensor(context: dg.SensorEvaluationContext, slack: SlackAlertsResource) -> dg.SensorResult:
    """Turn new failed checks and findings into outbox entries and deliver what is due."""
    cfg, outbox, now = slack.settings(), slack.outbox(), slack.now()
    check_keys = context.repository_def.asset_graph.asset_check_keys if context.repository_def else []
    checks, check_cursor = new_check_evaluations(context.instance, check_keys, outbox, now)
    found, find_cursor = new_findings(outbox, FindingStore(cfg.findings_path()), now)
    alerts, report = process(slack, [*found, *checks], {**find_cursor, **check_cursor}, context.log)
    # The authoritative cursors are committed in the outbox with the entries; this copy shows them in the UI.
    cursor = json.dumps({"findings": outbox.meta("cursor:findings"), "checks": outbox.meta("cursor:checks")})
    return _result(slack, alerts, report, cursor)


@dg.run_failure_sensor(
    name="run_failure_alert_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="A failed run of any job -> one critical alert per job (deduplicated in the cooldown).",
)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext, slack: SlackAlertsResource) -> None:
    """Post a failed run through the outbox (deduplicated, retried) rather than straight to Slack."""
    message = context.failure_event.message if context.failure_event else None
    slack.transports()  # registers the webhook URL / bot token, so the cause below is scrubbed of them too
    cause = failure_cause(context.get_step_failure_events(), context.failure_event)
    run = context.dagster_run
    obs = run_failure(
        run.job_name,
        run.run_id,
        run.tags.get("dagster/partition"),
        message,
        slack.alerts().dagster_url,
        slack.now(),
        cause,
    )
    alerts, report = process(slack, [obs], log=context.log)
    context.log.info(f"run failure of {context.dagster_run.job_name}: {len(alerts)} alert(s), delivered {report.sent}")


@dg.sensor(
    name="no_data_sensor",
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Alerts when no configured source got new logs for alerts.yaml no_data.max_silence.",
)
def no_data_sensor(context: dg.SensorEvaluationContext, slack: SlackAlertsResource) -> dg.SensorResult:
    """Check every local source's newest file time; a silent source fires data.no_data, fresh data resolves it."""
    acfg = slack.alerts()
    alerts, report = process(slack, freshness(slack.settings(), acfg.no_data, slack.now()), log=context.log)
    return _result(slack, alerts, report)


alert_sensors = [alert_sensor, run_failure_alert_sensor, no_data_sensor]
