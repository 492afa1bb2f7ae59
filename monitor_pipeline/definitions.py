"""The Dagster entry point: one code location built from monitor_pipeline.defs."""

from __future__ import annotations

import dagster as dg
from dagster_pyspark import LazyPySparkResource

from monitor_pipeline.defs.alerting.sensors import OUTBOX_ASSET, alert_sensors
from monitor_pipeline.defs.drift_quality.drift import drift_report
from monitor_pipeline.defs.drift_quality.jobs import probes_job, probes_schedule
from monitor_pipeline.defs.drift_quality.probes import quality_probes
from monitor_pipeline.defs.drift_quality.quality import quality_report
from monitor_pipeline.defs.forecasting.anomalies import anomalies
from monitor_pipeline.defs.forecasting.forecaster import forecaster
from monitor_pipeline.defs.forecasting.jobs import (
    anomaly_job,
    daily_forecast_retraining,
    forecasting_job,
    hourly_anomaly_scoring,
)
from monitor_pipeline.defs.forecasting.resource_forecast import resource_forecast
from monitor_pipeline.defs.ingestion.assets import RAW_LOGS, ingestion
from monitor_pipeline.defs.ingestion.jobs import hourly_ingestion, ingestion_job, nightly_ingestion
from monitor_pipeline.defs.ingestion.plots import partition_plots
from monitor_pipeline.defs.scalability.benchmark import scalability_benchmark
from monitor_pipeline.defs.scalability.schedules import scalability_job, scalability_weekly
from monitor_pipeline.defs.security.assets import security_findings
from monitor_pipeline.defs.validation.checks import suite_checks
from monitor_pipeline.defs.validation.scorecard import validation_scorecard
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.slack import SlackAlertsResource
from monitor_pipeline.resources.spark import spark_conf
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.settings import load_config


def build_definitions(config_path: str | None = None, data_dir: str | None = None) -> dg.Definitions:
    """The Definitions for a config file (default: MONITOR_CONFIG or configs/pipeline.yaml)."""
    cfg = load_config(config_path)
    return dg.Definitions(
        assets=[RAW_LOGS, ingestion, partition_plots, drift_report, quality_report, quality_probes, scalability_benchmark,
                forecaster, anomalies, resource_forecast, OUTBOX_ASSET, security_findings, validation_scorecard],
        asset_checks=suite_checks,
        jobs=[ingestion_job, probes_job, scalability_job, forecasting_job, anomaly_job],
        schedules=[hourly_ingestion, nightly_ingestion, probes_schedule, scalability_weekly,
                   daily_forecast_retraining, hourly_anomaly_scoring],
        sensors=alert_sensors,
        resources={
            "warehouse": WarehouseResource(config_path=config_path, data_dir=data_dir),
            "mlflow": MlflowResource(config_path=config_path, data_dir=data_dir),
            "slack": SlackAlertsResource(config_path=config_path, data_dir=data_dir),
            # Lazy: the session starts only when an asset runs with engine: spark.
            "pyspark": LazyPySparkResource(spark_config=spark_conf(cfg.spark)),
        },
        # One process: the DuckDB warehouse and the SQLite MLflow store take one writer at a time.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
