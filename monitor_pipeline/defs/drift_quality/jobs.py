"""The golden-probe job and its schedule (probes ask a live target, not a day of logs: unpartitioned)."""

from __future__ import annotations

import dagster as dg

from monitor_pipeline.defs.drift_quality.probes import quality_probes

probes_job = dg.define_asset_job(
    "probes_job",
    selection=dg.AssetSelection.assets(quality_probes),
    description="Send the golden probe sets to the configured target and compare with the previous run.",
)
probes_schedule = dg.ScheduleDefinition(
    name="golden_probes_every_6h",
    job=probes_job,
    cron_schedule="15 */6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Golden-set probes four times a day.",
)
