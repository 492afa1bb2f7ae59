"""The live sensor: every `live.interval_s` it looks at the live sources' files and launches a micro-batch when any
grew, moved or appeared, unless the last micro-batch is still queued or running (the next one reads its lines too:
micro-batches coalesce instead of piling up behind a slow run)."""

import datetime as dt
import hashlib
import json
import os

import dagster as dg

from monitor_pipeline.defs.live.assets import ANOMALIES, INGEST, SECURITY, followed_days, live_specs
from monitor_pipeline.defs.live.capacity import CAPACITY
from monitor_pipeline.ingest.incremental import rotated_siblings
from monitor_pipeline.ingest.sources import day_paths
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.settings import shared_config

live_job = dg.define_asset_job(
    "live_job",
    selection=dg.AssetSelection.assets(INGEST, SECURITY, ANOMALIES, CAPACITY),
    description="One micro-batch: the new lines of the live sources, their critical checks, the security rules over "
    "them, the anomaly scores of the windows that closed since the last one and the resource trends.",
)
ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def file_signature(paths: list[str]) -> dict[str, list[int]]:
    """Inode, size and modification time of each file and of its rotated siblings: what changes when lines arrive."""
    out: dict[str, list[int]] = {}
    for p in paths:
        for q in [p, *rotated_siblings(p)]:
            try:
                st = os.stat(q)
            except OSError:
                continue
            out[q] = [st.st_ino, st.st_size, st.st_mtime_ns]
    return out


def _default_status() -> dg.DefaultSensorStatus:
    """On when the config (MONITOR_CONFIG or configs/pipeline.yaml) marks a source live: the switch in the UI too."""
    live = any(s.live for s in shared_config().sources)
    return dg.DefaultSensorStatus.RUNNING if live else dg.DefaultSensorStatus.STOPPED


@dg.sensor(
    name="live_sensor",
    job=live_job,
    minimum_interval_seconds=shared_config().live.interval_s,
    default_status=_default_status(),
    description="Launches a live micro-batch when a `live: true` source's files changed; skips while one is queued "
    "or running. Its cursor (the files' sizes it last saw) survives code-location restarts.",
)
def live_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    """A run when the live files changed since the last request; coalesced while a micro-batch is in flight."""
    cfg = warehouse.settings()
    specs = live_specs(cfg)
    if not specs:
        return dg.SkipReason("no source is marked live: true in the config")
    paths = day_paths(specs, followed_days(cfg, dt.datetime.now(dt.UTC)))
    if not paths:
        return dg.SkipReason("the live sources' paths name no file yet")
    sig = file_signature(paths)
    if sig == json.loads(context.cursor or "{}"):
        return dg.SkipReason("no new lines since the last micro-batch")
    busy = context.instance.get_run_records(dg.RunsFilter(job_name=live_job.name, statuses=ACTIVE), limit=1)
    if busy:
        return dg.SkipReason(
            f"micro-batch {busy[0].dagster_run.run_id[:8]} is still queued or running; the next one reads these "
            "lines too"
        )
    key = hashlib.sha1(json.dumps(sig, sort_keys=True).encode()).hexdigest()[:16]
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"live-{key}")], cursor=json.dumps(sig))
