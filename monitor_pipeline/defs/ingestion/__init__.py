"""Ingestion assets and checks."""

import dagster as dg

from monitor_pipeline.defs.ingestion.assets import RAW_LOGS, ingestion
from monitor_pipeline.defs.ingestion.freshness import FRESHNESS_CHECKS, FRESHNESS_SENSORS
from monitor_pipeline.defs.ingestion.jobs import hourly_ingestion, ingestion_job, nightly_ingestion
from monitor_pipeline.defs.ingestion.plots import partition_plots

# The checks nothing_lost, every_file_read and quarantine_share_below_threshold are check_specs of `ingestion` itself;
# raw_logs' freshness_check is Dagster's, fed by raw_logs_observation_sensor (see freshness.py).
defs = dg.Definitions(
    assets=[RAW_LOGS, ingestion, partition_plots],
    asset_checks=FRESHNESS_CHECKS,
    jobs=[ingestion_job],
    schedules=[hourly_ingestion, nightly_ingestion],
    sensors=FRESHNESS_SENSORS,
)
