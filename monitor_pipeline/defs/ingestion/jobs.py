"""The ingestion job: an hourly refresh of today's partition and a nightly final pass over yesterday's."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from monitor_pipeline.defs.partitions import daily_partitions

ingestion_job = dg.define_asset_job(
    "ingestion_job",
    partitions_def=daily_partitions,
    # quality_probes asks a live target now, not a day of logs: it is unpartitioned and runs on its own schedule.
    selection=(
        dg.AssetSelection.groups("ingestion", "validation", "drift_quality", "security")
        - dg.AssetSelection.assets("quality_probes")
    ),
    description="Ingest one day of every configured source, validate it, then measure its drift and model quality and run the "
    "security rules over it.",
)


@dg.schedule(
    job=ingestion_job,
    cron_schedule="5 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def hourly_ingestion(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Re-ingest today's partition every hour (a re-run replaces the day, so it never duplicates)."""
    day = context.scheduled_execution_time.astimezone(dt.UTC).date().isoformat()
    return dg.RunRequest(run_key=f"hourly-{context.scheduled_execution_time.isoformat()}", partition_key=day)


@dg.schedule(
    job=ingestion_job,
    cron_schedule="30 0 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def nightly_ingestion(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Ingest yesterday's partition once more after midnight, with the logs that arrived late."""
    day = (context.scheduled_execution_time.astimezone(dt.UTC).date() - dt.timedelta(days=1)).isoformat()
    return dg.RunRequest(run_key=f"nightly-{day}", partition_key=day)
