"""Drift and quality monitoring: drift_report and quality_report per day, quality_probes against a live target."""

import dagster as dg

from monitor_pipeline.defs.drift_quality.drift import drift_report
from monitor_pipeline.defs.drift_quality.jobs import probes_job, probes_schedule
from monitor_pipeline.defs.drift_quality.probes import quality_probes
from monitor_pipeline.defs.drift_quality.quality import quality_report

defs = dg.Definitions(
    assets=[drift_report, quality_report, quality_probes],
    asset_checks=[],  # each asset's checks are declared on it (check_specs)
    jobs=[probes_job],
    schedules=[probes_schedule],
)
