"""The scalability sweep's job and its weekly schedule (stopped by default: a sweep occupies the model for minutes)."""

import dagster as dg

from monitor_pipeline.defs.scalability.benchmark import scalability_benchmark

scalability_job = dg.define_asset_job(
    "scalability_job",
    selection=dg.AssetSelection.assets(scalability_benchmark),
    description="Sweep the configured target over batch sizes, lengths or concurrency; fit; compare with the champion.",
)
scalability_weekly = dg.ScheduleDefinition(
    name="scalability_weekly",
    job=scalability_job,
    cron_schedule="0 3 * * 1",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="The scalability sweep every Monday at 03:00 UTC.",
)
