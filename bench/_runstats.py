"""Measurements for bench/load.py: one Dagster job run timed (wall, CPU, run-queue wait, peak RSS), store sizes, line fits."""

from __future__ import annotations

import os
import resource
import threading
import time
from pathlib import Path

import numpy as np

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def du(path: Path) -> int:
    """Bytes under a file or folder (0 when missing)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def store_bytes(data: Path, home: Path) -> dict[str, int]:
    """Bytes of each store: DuckDB warehouse, MLflow (db + artifacts), findings DB, Dagster instance, other outputs."""
    parts = {
        "warehouse": [data / "warehouse.duckdb", data / "warehouse.duckdb.wal"],
        "mlflow": [data / "mlflow.db", data / "mlartifacts"],
        "findings": [data / "findings.db", data / "findings.db-wal", data / "findings.db-shm"],
    }
    out = {k: sum(du(p) for p in v) for k, v in parts.items()}
    out["dagster"] = du(home)
    out["other"] = du(data) - sum(out[k] for k in parts)  # plots, HTML reports, the alert outbox
    out["total"] = sum(out.values())
    return out


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark of this process, so the next reading is one run's peak (Linux)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """This process's peak RSS since the last reset (VmHWM), else since it started (getrusage)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def runqueue_wait_s() -> float | None:
    """Seconds this thread has waited for a CPU while runnable (Linux schedstat): what a shared machine adds."""
    try:
        return int(Path(f"/proc/self/task/{threading.get_native_id()}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def run_job(defs, instance, job: str, partition: str | None, tags: dict[str, str] | None = None) -> dict:
    """One job run through Dagster: wall time, per-step time, peak RSS, what ingestion read (`partition` None: an
    unpartitioned job such as live_job; `tags` on the run, e.g. the live steps' as-of time)."""
    import dagster as dg

    scoped = reset_peak()
    cpu0, wait0, t = os.times(), runqueue_wait_s(), time.perf_counter()
    result = defs.resolve_job_def(job).execute_in_process(
        partition_key=partition,
        instance=instance,
        run_config=QUIET,
        raise_on_error=False,
        tags=tags,
    )
    cpu1, wait1 = os.times(), runqueue_wait_s()  # children included: a step that shells out is still this run's work
    out = {
        "job": job,
        "partition": partition,
        "seconds": round(time.perf_counter() - t, 2),
        # CPU seconds of this process: steadier than wall time on a shared machine
        "cpu_s": round(sum(cpu1[:4]) - sum(cpu0[:4]), 2),
        "runqueue_wait_s": None if wait0 is None else round(wait1 - wait0, 2),
        "success": result.success,
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_scope": "run" if scoped else "process",
    }
    out["steps"] = {
        s.step_key: round(s.end_time - s.start_time, 2)
        for s in instance.get_run_step_stats(result.run_id)
        if s.start_time and s.end_time
    }
    meta = {
        m.asset_key.to_user_string(): m.metadata
        for m in result.get_asset_materialization_events()
        for m in [m.materialization]
    }
    if out["runqueue_wait_s"] is not None:  # the wall time minus the main thread's wait for a CPU (conservative)
        out["uncontended_s"] = round(out["seconds"] - out["runqueue_wait_s"], 2)
    if "live_ingest" in meta:
        live = meta["live_ingest"]
        out["lines_read"] = live["new_lines"].value
        out["windows_recomputed"] = live["windows_recomputed"].value
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    if checks:
        out["checks_failed"] = sorted(k for k, ok in checks.items() if not ok)
    if "clean_requests" in meta:
        out["lines_read"] = meta["clean_requests"]["read"].value
        out["requests_in_partition"] = meta["clean_requests"]["dagster/row_count"].value
    if not result.success:
        failure = next((e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE), None)
        out["error"] = failure.event_specific_data.error.message.strip()[:500] if failure else "run failed"
    return out


def fit(xs: list[float], ys: list[float]) -> dict | None:
    """Least-squares line y = intercept + slope * x (None with fewer than two distinct x)."""
    if len(set(xs)) < 2:
        return None
    slope, intercept = np.polyfit(np.array(xs, float), np.array(ys, float), 1)
    return {
        "intercept": round(float(intercept), 2),
        "per_million_lines": round(float(slope) * 1e6, 2),
        "points": len(xs),
    }


def warm_ingestion(runs: list[dict]) -> list[dict]:
    """Successful ingestion runs to fit: not the first (it pays for imports), past the first day when there are two."""
    # The first day has no reference day, so its drift and quality reports skip most of their work.
    ok = [r for r in runs if r["job"] == "ingestion_job" and r["success"] and not r.get("cold")]
    later = [r for r in ok if r["day"] != runs[0]["day"]]
    return later if len(later) >= 2 else ok
