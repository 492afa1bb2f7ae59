"""Security monitoring: the rules of configs/rules.yaml over each day's requests."""

import dagster as dg

from monitor_pipeline.defs.security.assets import security_findings

# security_findings runs in the ingestion job (defs/ingestion/jobs.py selects the group): no job or schedule of its own.
defs = dg.Definitions(assets=[security_findings], asset_checks=[], jobs=[], schedules=[])
