"""Live group: micro-batches over the `live: true` sources, launched by the live sensor."""

import dagster as dg

from monitor_pipeline.defs.live.assets import live_anomalies, live_ingest, live_security
from monitor_pipeline.defs.live.capacity import live_capacity
from monitor_pipeline.defs.live.sensors import live_job, live_sensor

defs = dg.Definitions(
    assets=[live_ingest, live_security, live_anomalies, live_capacity],
    jobs=[live_job],
    sensors=[live_sensor],
)
