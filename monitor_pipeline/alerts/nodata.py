"""No data: a configured source whose files have not changed for longer than `no_data.max_silence`."""

from __future__ import annotations

import datetime as dt
import glob
import os
from typing import Any

from monitor_pipeline.alerts.config import NoData
from monitor_pipeline.alerts.model import Observation


def latest_change(paths: list[str]) -> dt.datetime | None:
    """Newest modification time among the files the paths/globs name (`{date}` matches any day); remote: None."""
    newest = None
    for p in paths:
        if "://" in p:
            continue
        for f in glob.glob(p.replace("{date}", "*"), recursive=True):
            if os.path.isfile(f):
                t = os.path.getmtime(f)
                newest = t if newest is None or t > newest else newest
    return None if newest is None else dt.datetime.fromtimestamp(newest, dt.UTC)


def freshness(cfg: Any, nd: NoData, now: dt.datetime) -> list[Observation]:
    """One observation per local source: bad when its newest file is older than the allowed silence (or missing)."""
    out = []
    for src in cfg.sources:
        paths = cfg.source_paths(src)
        if all("://" in p for p in paths):
            continue  # remote sources (hdfs://, s3a://) are not listed from the sensor
        last = latest_change(paths)
        silent = None if last is None else now - last
        bad = silent is None or silent > nd.max_silence
        title = (
            f"no new data from source {src.name} for {_human(silent)} (allowed {_human(nd.max_silence)})"
            if last
            else f"no files match source {src.name}"
        )
        out.append(
            Observation(
                rule="data.no_data",
                entity=src.name,
                severity=nd.severity,
                bad=bad,
                at=now,
                title=title if bad else f"source {src.name} has new data",
                source="no_data_sensor",
                wall_clock=True,
                value=None if silent is None else round(silent.total_seconds() / 60, 1),
                threshold=nd.max_silence.total_seconds() / 60,
                window_start=last,
                window_end=now,
                detail={"unit": "minutes", "paths": paths[:5]},
            )
        )
    return out


def _human(d: dt.timedelta | None) -> str:
    if d is None:
        return "ever"
    s = int(d.total_seconds())
    return f"{s // 3600}h{(s % 3600) // 60:02d}m" if s >= 3600 else f"{s // 60}m"
