"""Scalability monitoring: the weekly sweep asset, its job and schedule."""

import dagster as dg

from monitor_pipeline.defs.scalability.benchmark import scalability_benchmark
from monitor_pipeline.defs.scalability.schedules import scalability_job, scalability_weekly

defs = dg.Definitions(
    assets=[scalability_benchmark],
    asset_checks=[],  # scalability_no_regression is declared on the asset (check_specs)
    jobs=[scalability_job],
    schedules=[scalability_weekly],
)
