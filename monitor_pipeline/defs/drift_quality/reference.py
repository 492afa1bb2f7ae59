"""The reference window that drift and quality compare a partition against."""

import datetime as dt

from monitor_pipeline.settings import PipelineConfig


def reference_days(cfg: PipelineConfig, day: dt.date) -> list[dt.date]:
    """The pinned reference partition, else the `drift.reference_days` days before `day`."""
    d = cfg.drift
    if d.reference_partition:
        return [d.reference_partition]
    return [day - dt.timedelta(days=k) for k in range(1, d.reference_days + 1)]
