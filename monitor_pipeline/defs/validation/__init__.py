"""Great Expectations suites as blocking (critical) and warning asset checks."""

import dagster as dg

from monitor_pipeline.defs.validation.checks import suite_checks
from monitor_pipeline.defs.validation.scorecard import validation_scorecard

# The suites run in ingestion_job (defs/ingestion/jobs.py), which selects this group: no job or schedule of its own.
defs = dg.Definitions(assets=[validation_scorecard], asset_checks=suite_checks, jobs=[], schedules=[])
