"""Daily UTC partitions; end_offset=1 makes today a partition so hourly runs can refresh it."""

import dagster as dg

from monitor_pipeline.settings import load_config

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=load_config().partitions.start_date.isoformat(), timezone="UTC", end_offset=1
)
