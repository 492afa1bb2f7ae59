"""Alerting group: the alert outbox and the sensors that fill it from failed checks, findings, failed runs, silent sources."""

import dagster as dg

from monitor_pipeline.defs.alerting.sensors import OUTBOX_ASSET, alert_sensors

defs = dg.Definitions(
    assets=[OUTBOX_ASSET],
    asset_checks=[],
    jobs=[],
    schedules=[],
    sensors=alert_sensors,
)
