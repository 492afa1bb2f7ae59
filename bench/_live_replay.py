"""bench/load.py --live: the micro-batches' statistics and the goal hour through the live loop."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import time
from pathlib import Path

import numpy as np
from _replay import append_slice, goal_hour, hour_index
from _runstats import run_job

GOAL_S = 60.0  # the goal hour's runs, in all (as bench/load.py's batch goal)
AS_OF_TAG = "monitor_pipeline/as_of"  # monitor_pipeline.defs.live.assets.AS_OF_TAG (not imported before the config)


def live_stats(runs: list[dict]) -> dict:
    """Micro-batches of the live loop: how many, their seconds and CPU, and whether the cost grew over the day."""
    if not runs:
        return {"runs": 0}
    secs = [r["seconds"] for r in runs]
    k = max(1, len(runs) // 4)
    return {
        "runs": len(runs),
        "failed": sum(not r["success"] for r in runs),
        "mean_s": round(float(np.mean(secs)), 2),
        "p50_s": round(float(np.median(secs)), 2),
        "max_s": max(secs),
        "cpu_mean_s": round(float(np.mean([r["cpu_s"] for r in runs])), 2),
        "lines_mean": round(float(np.mean([r.get("lines_read") or 0 for r in runs]))),
        # the cost of a micro-batch follows its new lines, not the day so far: last quarter over first quarter
        "last_quarter_over_first": round(float(np.mean(secs[-k:]) / max(np.mean(secs[:k]), 1e-9)), 2),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
    }


def run_goal_live(defs, instance, work: Path, args: argparse.Namespace, runs: list[dict]) -> dict:
    """The goal hour at --goal-rate requests/s through the live loop: appended in --live slices, live_job after each."""
    import duckdb

    n = int(args.goal_rate * 3600)
    day = dt.date.fromisoformat(args.start) + dt.timedelta(days=args.days)
    live = work / "live"
    path = goal_hour(work / "cache", live, n, args.seed, day)
    stage = work / "goal-stage"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    index = {}
    for name in (path.name, f"resources-{day}.jsonl"):
        if (live / name).exists():
            (live / name).rename(stage / name)
            index[name] = {f"{d} {h:02d}": v for (d, h), v in hour_index(stage / name).items()}
    t = time.perf_counter()
    with duckdb.connect() as con:
        con.execute(
            "SELECT count(*), avg(TRY_CAST(latency_ms AS DOUBLE)) FROM read_json(?, format='newline_delimited', "
            "ignore_errors=true)",
            [str(stage / path.name)],
        ).fetchall()
    baseline = time.perf_counter() - t
    parts = []
    for m0 in range(0, 60, args.live):
        append_slice(stage, index, live, day.isoformat(), 0, m0, m0 + args.live)
        at = dt.datetime.combine(day, dt.time(), dt.UTC) + dt.timedelta(minutes=m0 + args.live)
        parts.append(run_job(defs, instance, "live_job", None, {AS_OF_TAG: at.isoformat()}))
    secs = round(sum(p["seconds"] for p in parts), 2)
    ok = all(p["success"] for p in parts)
    out = {
        "kind": "goal",
        "measured": True,
        "live_minutes": args.live,
        "day": day.isoformat(),
        "requests": n,
        "rate_per_s": args.goal_rate,
        "seconds": secs,
        "cpu_s": round(sum(p["cpu_s"] for p in parts), 2),
        "max_micro_batch_s": max(p["seconds"] for p in parts),
        "goal_s": GOAL_S,
        "met": ok and secs <= GOAL_S,
        "keeps_up": ok and max(p["seconds"] for p in parts) < 60 * args.live,
        "success": ok,
        "lines_read": sum(p.get("lines_read") or 0 for p in parts),
        "peak_rss_mb": max(p["peak_rss_mb"] for p in parts),
        "baseline_duckdb_read_s": round(baseline, 2),
        "vs_baseline": round(secs / max(baseline, 1e-9), 1),
        "runs": parts,
    }
    print(json.dumps(out), flush=True)
    return out
