"""The forecasting job and its daily retraining schedule (today's partition trains on the days before it)."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from monitor_pipeline.defs.forecasting.anomalies import anomalies
from monitor_pipeline.defs.forecasting.resource_forecast import resource_forecast
from monitor_pipeline.defs.partitions import daily_partitions

forecasting_job = dg.define_asset_job(
    "forecasting_job",
    partitions_def=daily_partitions,
    selection=dg.AssetSelection.groups("forecasting"),
    description="Retrain and backtest the forecasters on the days before the partition, register champions, "
    "score the partition's windows for anomalies and forecast GPU memory against its threshold.",
)


@dg.schedule(
    job=forecasting_job,
    cron_schedule="45 0 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def daily_forecast_retraining(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Retrain every night for the new day: today's champion is trained on the history up to midnight."""
    day = context.scheduled_execution_time.astimezone(dt.UTC).date().isoformat()
    return dg.RunRequest(run_key=f"forecast-{day}", partition_key=day)


anomaly_job = dg.define_asset_job(
    "anomaly_job",
    partitions_def=daily_partitions,
    selection=dg.AssetSelection.assets(anomalies, resource_forecast),
    description="Score a day's windows with the registered champions and forecast GPU memory (no retraining); "
    "started by the automation sensor after ingestion, or by hand for a backfill.",
)


# What follows ingestion runs when ingestion has run, not at a clock offset after it: `anomalies` and
# `resource_forecast` carry AutomationCondition.eager(), which this sensor evaluates (the daemon runs it).
automation_sensor = dg.AutomationConditionSensorDefinition(
    "automation_sensor",
    target=dg.AssetSelection.all(),
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Materializes `anomalies` and `resource_forecast` for today once an ingestion run updated today's "
    "windows (declarative automation instead of the old :15 schedule after the :05 ingestion).",
)
