"""`monitor-pipeline demo`: materialize the ingestion assets for every day the configured sources cover."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import dagster as dg

from monitor_pipeline.lib.engines.duckdb import DuckDBEngine
from monitor_pipeline.lib.errors import MonitorError
from monitor_pipeline.lib.ingest import build_request
from monitor_pipeline.settings import PipelineConfig, load_config


def dagster_home(cfg: PipelineConfig) -> Path:
    """A persistent Dagster instance under the data dir, so `make ui` shows the demo's runs."""
    home = Path(os.environ.get("DAGSTER_HOME") or cfg.data_path() / "dagster")
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").touch()  # an empty file silences the "no dagster.yaml" warning
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def source_days(cfg: PipelineConfig) -> list[str]:
    """The UTC days the configured sources hold records for (a dry run into an in-memory database)."""
    days: set[str] = set()
    for src in cfg.sources:
        request = build_request(cfg.source_paths(src), src.format, source=src.name, defaults={"model": src.model})
        days.update(DuckDBEngine(":memory:").ingest(request).days)
    return sorted(d for d in days if d >= cfg.partitions.start_date.isoformat())


def run_demo(config_path: str | None = None, out=print) -> dict:
    """Materialize every covered partition in a persistent Dagster instance and print what was done."""
    from monitor_pipeline.definitions import build_definitions

    started = time.monotonic()
    cfg = load_config(config_path)
    home = dagster_home(cfg)
    defs = build_definitions(config_path)
    job = defs.resolve_job_def("ingestion_job")
    days = source_days(cfg)
    if not days:
        raise MonitorError("the configured sources hold no records on or after partitions.start_date")
    out(f"monitor_pipeline demo: {len(cfg.sources)} sources, partitions {', '.join(days)}")
    out(f"{'partition':<12}{'read':>9}{'clean':>9}{'quarantined':>13}{'skipped':>9}{'win 5m':>8}{'win 1h':>8}")
    rows = {}
    with dg.DagsterInstance.get() as instance:
        for day in days:
            result = job.execute_in_process(partition_key=day, instance=instance)
            meta = {m.asset_key.to_user_string(): m.metadata for m in result.asset_materializations_for_node("ingestion")}
            c, w = meta["clean_requests"], meta["request_windows"]
            rows[day] = {k: c[k].value for k in ("read", "clean", "quarantined", "skipped")}
            rows[day].update(windows_5m=w["windows_5m"].value, windows_1h=w["windows_1h"].value)
            r = rows[day]
            out(f"{day:<12}{r['read']:>9}{r['clean']:>9}{r['quarantined']:>13}{r['skipped']:>9}"
                f"{r['windows_5m']:>8}{r['windows_1h']:>8}")
    elapsed = time.monotonic() - started
    out("")
    out(f"warehouse (DuckDB): {cfg.warehouse_path()}")
    out("  tables: requests, quarantine, request_windows, resources, resource_windows, online_log, offline_log")
    out(f"  try:    duckdb {cfg.warehouse_path()} \"SELECT reason, count(*) FROM quarantine GROUP BY 1\"")
    out(f"dagster runs: DAGSTER_HOME={home}")
    out("open the UIs: make ui  (Dagster http://127.0.0.1:3000, MLflow http://127.0.0.1:5000; Ctrl-C stops both)")
    out(f"demo finished in {elapsed:.1f} s ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC)")
    return rows
