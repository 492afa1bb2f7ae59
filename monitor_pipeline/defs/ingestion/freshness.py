"""Freshness of `raw_logs` through Dagster's own freshness checks.

A sensor stats the configured sources' files and records their newest modification time as the external asset's last
update (an observation carrying `dagster/last_updated_timestamp`); `build_last_update_freshness_checks` compares it
with now, and `build_sensor_for_freshness_checks` runs that check whenever it could have gone stale. The bound and the
severity are the no-data sensor's (alerts YAML `no_data.max_silence`, `no_data.severity`), so both agree on "silent".
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from monitor_pipeline.alerts.cycle import alerts_config
from monitor_pipeline.defs.ingestion.assets import RAW_LOGS
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.settings import PipelineConfig, shared_config

LAST_UPDATED = "dagster/last_updated_timestamp"
# Stat-only ticks; the same cadence as no_data_sensor. A change is seen at most this late.
OBSERVE_INTERVAL_S = 300
# The freshness sensor only reads the check's last result each tick; it starts a run when the check can be stale.
CHECK_INTERVAL_S = 60


def _files(pattern: str) -> Iterator[str]:
    """The files a path, directory (recursively) or glob names; `{date}` stands for any day."""
    for hit in glob.glob(pattern.removeprefix("file://").replace("{date}", "*"), recursive=True):
        if os.path.isfile(hit):
            yield hit
        elif os.path.isdir(hit):  # a directory source is every file inside it, as ingestion reads it
            yield from (str(p) for p in Path(hit).rglob("*") if p.is_file() and not p.name.startswith("."))


def _mtime(path: str) -> float | None:
    """The file's modification time; None when it went away between listing and stat (a log rotated out)."""
    try:
        return os.path.getmtime(path)
    except OSError:
        return None


def newest_mtimes(cfg: PipelineConfig) -> dict[str, float]:
    """Per source, the newest modification time (epoch seconds) of its local files; sources with none are left out."""
    out: dict[str, float] = {}
    for src in cfg.sources:
        # Remote sources (hdfs://, s3a://) are not listed from a sensor: only Spark can reach them.
        times = [
            t
            for p in cfg.source_paths(src)
            if "://" not in p.removeprefix("file://")
            for f in _files(p)
            if (t := _mtime(f)) is not None
        ]
        if times:
            out[src.name] = max(times)
    return out


def raw_logs_observation(cfg: PipelineConfig, per_source: dict[str, float]) -> dg.AssetObservation:
    """The observation of `raw_logs`: the newest file time of all sources (`newest_mtimes`) as its last update."""
    return dg.AssetObservation(
        asset_key=RAW_LOGS.key,
        metadata={
            LAST_UPDATED: dg.MetadataValue.timestamp(max(per_source.values())),
            "sources_with_files": len(per_source),
            "sources_configured": len(cfg.sources),
            "last_change_by_source": dg.MetadataValue.json(
                {name: dt.datetime.fromtimestamp(t, dt.UTC).isoformat() for name, t in sorted(per_source.items())}
            ),
        },
    )


def _last_result_failed(instance: dg.DagsterInstance, key: dg.AssetCheckKey) -> bool:
    """True when the check's latest finished evaluation failed."""
    summary = instance.event_log_storage.get_asset_check_summary_records([key])[key]
    record = summary.last_completed_check_execution_record
    evaluation = record.event.asset_check_evaluation if record and record.event else None
    return evaluation is not None and not evaluation.passed


def _observation_sensor(check_key: dg.AssetCheckKey, bound: dt.timedelta) -> dg.SensorDefinition:
    @dg.sensor(
        name="raw_logs_observation_sensor",
        minimum_interval_seconds=OBSERVE_INTERVAL_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
        asset_selection=dg.AssetSelection.checks(check_key),
        description="Stats the configured sources' files and records the newest change as raw_logs' last update "
        "(only when it moved); re-runs a failed raw_logs freshness check once the logs are fresh again.",
    )
    def raw_logs_observation_sensor(
        context: dg.SensorEvaluationContext, warehouse: WarehouseResource
    ) -> dg.SensorResult:
        """Observe raw_logs when its newest file changed; ask for a freshness check run when that ends a failure."""
        cfg = warehouse.settings()
        per_source = newest_mtimes(cfg)
        if not per_source:
            return dg.SensorResult(skip_reason="no configured source names a local file")
        newest = max(per_source.values())
        if context.cursor and float(context.cursor) >= newest:
            return dg.SensorResult(skip_reason="no source file changed since the last observation")
        # The freshness sensor never re-runs a failed check until the asset is *materialized*; an external asset only
        # gets observations, so without this run a failed check (and its alert) would stay failed after the logs
        # resumed.
        recover = newest >= time.time() - bound.total_seconds() and _last_result_failed(context.instance, check_key)
        return dg.SensorResult(
            asset_events=[raw_logs_observation(cfg, per_source)],
            run_requests=[dg.RunRequest(run_key=f"raw_logs-fresh-{newest}", asset_check_keys=[check_key])]
            if recover
            else [],
            cursor=repr(newest),
        )

    return raw_logs_observation_sensor


def raw_logs_freshness(
    bound: dt.timedelta, severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR
) -> tuple[list[dg.AssetChecksDefinition], list[dg.SensorDefinition]]:
    """The freshness check of `raw_logs` (fails when its last update is older than `bound`) and the two sensors."""
    # The factories are marked superseded by FreshnessPolicy in Dagster 1.13, but a policy yields no asset check
    # evaluation, and check evaluations are what alert_sensor turns into alerts: keep the checks, drop the warning.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        checks = list(
            dg.build_last_update_freshness_checks(assets=[RAW_LOGS.key], lower_bound_delta=bound, severity=severity)
        )
        check_sensor = dg.build_sensor_for_freshness_checks(
            freshness_checks=checks,
            name="raw_logs_freshness_sensor",
            minimum_interval_seconds=CHECK_INTERVAL_S,
            # Stopped like no_data_sensor: the demo's simulated logs stop changing, which would fail it after `bound`.
            default_status=dg.DefaultSensorStatus.STOPPED,
        )
    (check_key,) = checks[0].check_keys
    return checks, [_observation_sensor(check_key, bound), check_sensor]


def configured_freshness(cfg: PipelineConfig) -> tuple[dt.timedelta, dg.AssetCheckSeverity]:
    """The bound and severity from the alerts YAML's `no_data` (critical -> ERROR, else WARN)."""
    nd = alerts_config(cfg).no_data
    return nd.max_silence, dg.AssetCheckSeverity.ERROR if nd.severity == "critical" else dg.AssetCheckSeverity.WARN


# Read when the code location loads, like the partitions' start date: a changed bound needs a reload.
FRESHNESS_CHECKS, FRESHNESS_SENSORS = raw_logs_freshness(*configured_freshness(shared_config()))
