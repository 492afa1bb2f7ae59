"""Load replay: simulated days fed hour by hour through the scheduled jobs, timed, with peak memory and store growth.

    python bench/load.py [--days 7] [--requests-per-day 820000] [--hours 0-23] [--goal-rate 100] [--workdir DIR]

The days are simulated once (cached in <workdir>/cache). Then, as in production, each day's log files grow an hour
at a time under <workdir>/live, and after each selected hour h of day D the bench runs what the schedules run at the
next tick: `ingestion_job` for partition D (hourly_ingestion; it re-reads the whole day so far) and `anomaly_job`
for D (hourly_anomaly_scoring). When hour 23 is not selected, the day ends with one more `ingestion_job` (the
nightly pass); then `forecasting_job` retrains for the next day (daily_forecast_retraining). All runs go through
Dagster in one persistent instance (<workdir>/dagster), like `monitor-pipeline demo`.

Goal case (after the replay, on the next day): one hour of traffic at --goal-rate requests/s (the simulator's
requests retimed into 00:00-01:00) and that hour's hourly runs (`ingestion_job` + `anomaly_job`), timed against
GOAL_S, with a bare DuckDB read of the same hour's file as the baseline. Prints one JSON line per run, per day and
for the goal, then a summary line that also extrapolates (labelled) to the 7-day >= 5M-request replay.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _live_replay import AS_OF_TAG, GOAL_S, live_stats, run_goal_live  # noqa: E402
from _replay import append_hour, append_slice, goal_hour, parse_hours, simulated  # noqa: E402
from _runstats import fit, run_job, store_bytes, warm_ingestion  # noqa: E402

from monitor_pipeline.simulate import DEFAULT_START  # noqa: E402
from monitor_pipeline.simulate.traffic import rate_profile  # noqa: E402

TARGET_DAYS, TARGET_REQUESTS = 7, 5_000_000


def extrapolate(runs: list[dict], replayed_requests: int, growth: dict[str, int], start: dt.date) -> dict:
    """The 7-day, TARGET_REQUESTS replay predicted from the measured runs: line fits for ingestion, means otherwise."""
    ing = warm_ingestion(runs)
    xs = [r["lines_read"] for r in ing]
    keys = [k for k in ("seconds", "uncontended_s", "cpu_s") if all(r.get(k) is not None for r in runs)]
    lines = {k: fit(xs, [r[k] for r in ing]) for k in [*keys, "peak_rss_mb"]}
    if any(v is None or v["per_million_lines"] <= 0 for v in lines.values()):
        return {
            "extrapolated": True,
            "skipped": "ingestion time or memory did not grow with the lines read in this "
            "replay (too few rows or too much noise): replay more requests per day",
        }
    other_per_hour = float(np.mean([(r["lines_read"] - r["requests_in_partition"]) / (r["hour"] + 1) for r in ing]))
    base = rate_profile(dt.date(2026, 11, 18)).sum()
    days = [start + dt.timedelta(days=k) for k in range(TARGET_DAYS)]
    weight = {d: rate_profile(d).sum() / base for d in days}
    per_weekday = TARGET_REQUESTS / sum(weight.values())
    x = []  # lines read by each hourly ingestion run of the target replay
    for d in days:
        share = np.cumsum(rate_profile(d).reshape(24, 3600).sum(axis=1)) / rate_profile(d).sum()
        x += [per_weekday * weight[d] * share[h] + other_per_hour * (h + 1) for h in range(24)]
    out: dict = {
        "extrapolated": True,
        "days": TARGET_DAYS,
        "requests": TARGET_REQUESTS,
        "requests_per_weekday": round(per_weekday),
        "max_lines_per_run": round(max(x)),
        "fits": lines,
    }
    for key in keys:
        label = {"seconds": "wall", "uncontended_s": "uncontended", "cpu_s": "cpu"}[key]
        a, b = lines[key]["intercept"], lines[key]["per_million_lines"] / 1e6
        mean = {
            j: float(np.mean([r[key] for r in runs if r["job"] == j] or [0.0]))
            for j in ("anomaly_job", "forecasting_job")
        }
        out[f"{label}_run_seconds_total"] = round(
            sum(a + b * v for v in x) + len(x) * mean["anomaly_job"] + TARGET_DAYS * mean["forecasting_job"]
        )
        out[f"{label}_ingestion_last_hour_busiest_day_s"] = round(a + b * max(x), 1)
    out["peak_rss_mb"] = round(
        lines["peak_rss_mb"]["intercept"] + lines["peak_rss_mb"]["per_million_lines"] * max(x) / 1e6
    )
    runs_n = max(1, len(runs))
    out["store_bytes"] = {
        "warehouse": round(growth["warehouse"] / max(1, replayed_requests) * TARGET_REQUESTS),
        **{k: round(growth[k] / runs_n * TARGET_DAYS * 49) for k in ("mlflow", "findings", "dagster", "other")},
    }
    out["assumes"] = (
        "ingestion time and peak RSS linear in the lines the run reads (the day so far); anomaly and "
        "forecasting runs at their measured means; warehouse bytes per request and other stores' bytes "
        "per run as measured; 24 hourly ingestion + 24 anomaly + 1 forecasting runs a day"
    )
    return out


def main() -> int:
    """Simulate (cached), replay hour by hour through the jobs, print JSON lines and a summary line."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=TARGET_DAYS)
    ap.add_argument(
        "--requests-per-day",
        type=int,
        default=820_000,
        help="the simulator's mean for a weekday (weekends get 60%%); 820000 x 7 days >= 5M requests",
    )
    ap.add_argument(
        "--hours", default="0-23", help="hours of each day after which the hourly runs run, e.g. 5,11,17,23"
    )
    ap.add_argument(
        "--goal-rate", type=float, default=100.0, help="requests/s of the goal hour (0: skip the goal case)"
    )
    ap.add_argument(
        "--live",
        type=int,
        default=0,
        metavar="MINUTES",
        help="with the live loop on: each hour is appended in slices of MINUTES and live_job runs after each slice of "
        "the --hours hours (as of the slice's end) instead of the hourly ingestion and anomaly runs; each day ends "
        "with the nightly ingestion run, which reconciles the live tables (0: off, the hourly batch replay)",
    )
    ap.add_argument("--start", default=DEFAULT_START.isoformat(), help="first simulated day (UTC)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--workdir",
        default=str(ROOT / ".monitor" / "bench-load"),
        help="cache of simulated days, live log folder, stores (wiped each run except the cache)",
    )
    args = ap.parse_args()
    hours, start = parse_hours(args.hours), dt.date.fromisoformat(args.start)
    if args.days < 1 or args.requests_per_day < 1:
        raise SystemExit("--days and --requests-per-day must be at least 1")
    if args.live and (args.live < 1 or 60 % args.live):
        raise SystemExit("--live MINUTES must divide the hour (1, 5, 10, 15, 20, 30 or 60)")
    last = start + dt.timedelta(days=args.days if args.goal_rate else args.days - 1)
    if last >= dt.datetime.now(dt.UTC).date():
        raise SystemExit(
            f"--start {start}: the replay (and goal day) runs to {last}; it must end before today (UTC), "
            "or ingestion quarantines the lines still in the future"
        )
    work = Path(args.workdir).resolve()
    live, data, home = work / "live", work / "data", work / "dagster"
    for p in (live, data, home):
        shutil.rmtree(p, ignore_errors=True)
    live.mkdir(parents=True)
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    cfg = yaml.safe_load((ROOT / "configs" / "pipeline.yaml").read_text())
    cfg["data_dir"] = "data"
    cfg["sources"] = [
        {"name": "gateway", "paths": ["live/requests-{date}.jsonl"], "format": "jsonl"},
        {"name": "gpu_samples", "paths": ["live/resources-{date}.jsonl"], "format": "resources_jsonl"},
        {"name": "seed_online", "paths": ["live/online.log"], "format": "online_log"},
        {"name": "seed_offline", "paths": ["live/offline.log"], "format": "offline_log"},
    ]
    if args.live:  # the dated feeds are followed; the seed's two undated logs stay with the daily runs
        for src in cfg["sources"][:2]:
            src["live"] = True
    first = dt.date.fromisoformat(str(cfg.get("partitions", {}).get("start_date", start)))
    cfg.setdefault("partitions", {})["start_date"] = min(first, start).isoformat()
    conf = work / "pipeline.yaml"
    conf.write_text(yaml.safe_dump(cfg, sort_keys=False))
    for var in ("MONITOR_DATA_DIR", "MONITOR_ENGINE", "MLFLOW_TRACKING_URI"):
        os.environ.pop(var, None)  # every store must land in the work dir
    os.environ.update(MONITOR_CONFIG=str(conf), DAGSTER_HOME=str(home))

    t = time.perf_counter()
    sim, summary, index = simulated(work / "cache", args.days, args.requests_per_day, args.seed, start)
    print(
        json.dumps(
            {
                "kind": "simulated",
                "days": args.days,
                "requests": summary["requests"],
                "dir": str(sim),
                "seconds": round(time.perf_counter() - t, 1),
            }
        ),
        flush=True,
    )

    import dagster as dg

    from monitor_pipeline.definitions import build_definitions  # after MONITOR_CONFIG: partitions read it on import

    defs = build_definitions(str(conf))
    runs, day_lines, started, seen = [], [], time.perf_counter(), set()  # a job's first run pays for its imports
    empty = store_bytes(data, home)
    with dg.DagsterInstance.get() as instance:
        for k, info in enumerate(summary["days"]):
            day, so_far, mark = info["day"], 0, store_bytes(data, home)
            day_runs = []
            for h in range(24):
                if args.live:
                    for m0 in range(0, 60, args.live):
                        so_far += append_slice(sim, index, live, day, h, m0, m0 + args.live)
                        if h not in hours:
                            continue  # the next micro-batch reads these lines too (a loop that fell behind)
                        at = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(h), dt.UTC)
                        at += dt.timedelta(minutes=m0 + args.live)
                        r = {
                            "kind": "run",
                            "day": day,
                            "hour": h,
                            "minute": m0 + args.live,
                            "tick": "live",
                            "requests_so_far": so_far,
                            **run_job(defs, instance, "live_job", None, {AS_OF_TAG: at.isoformat()}),
                            "cold": "live_job" not in seen,
                        }
                        seen.add("live_job")
                        r["store_bytes_total"] = store_bytes(data, home)["total"]
                        print(json.dumps(r), flush=True)
                        day_runs.append(r)
                    jobs = [("nightly", "ingestion_job")] if h == 23 else []
                else:
                    so_far += append_hour(sim, index, live, day, h)
                    jobs = [("hourly", "ingestion_job"), ("hourly", "anomaly_job")] if h in hours else []
                    jobs += [("nightly", "ingestion_job")] if h == 23 and h not in hours else []
                for tick, job in jobs:
                    r = {
                        "kind": "run",
                        "day": day,
                        "hour": h,
                        "tick": tick,
                        "requests_so_far": so_far,
                        **run_job(defs, instance, job, day),
                        "cold": job not in seen,
                    }
                    seen.add(job)
                    r["store_bytes_total"] = store_bytes(data, home)["total"]
                    print(json.dumps(r), flush=True)
                    day_runs.append(r)
            if k + 1 < args.days or args.goal_rate:
                nxt = (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()
                r = {
                    "kind": "run",
                    "day": day,
                    "hour": 24,
                    "tick": "daily_retraining",
                    **run_job(defs, instance, "forecasting_job", nxt),
                }
                r["store_bytes_total"] = store_bytes(data, home)["total"]
                print(json.dumps(r), flush=True)
                day_runs.append(r)
            now = store_bytes(data, home)
            ing = [r for r in day_runs if r["job"] == "ingestion_job"]
            lv = [r for r in day_runs if r["job"] == "live_job"]
            line = {
                "kind": "day",
                "day": day,
                "requests": info["requests"],
                "runs": len(day_runs),
                "run_seconds": round(sum(r["seconds"] for r in day_runs), 1),
                "ingestion_first_s": ing[0]["seconds"],
                "ingestion_last_s": ing[-1]["seconds"],
                "max_run_s": max(r["seconds"] for r in day_runs),
                "peak_rss_mb": max(r["peak_rss_mb"] for r in day_runs),
                "store_growth_bytes": {key: now[key] - mark[key] for key in now},
                "store_bytes": now,
            }
            if lv:
                line["live"] = live_stats(lv)
                # the nightly re-read against what the micro-batches stored (the ingestion's live_tables_match check)
                line["live_tables_match"] = "live_tables_match" not in (ing[-1].get("checks_failed") or [])
            print(json.dumps(line), flush=True)
            runs += day_runs
            day_lines.append(line)
        replay_s = time.perf_counter() - started
        replay_end = store_bytes(data, home)
        goal = None
        if args.goal_rate:
            goal = (run_goal_live if args.live else run_goal)(defs, instance, work, args, runs)
    growth = {key: replay_end[key] - empty[key] for key in replay_end}
    by_job = {}
    for j in sorted({r["job"] for r in runs}):
        s = [r["seconds"] for r in runs if r["job"] == j]
        by_job[j] = {
            "runs": len(s),
            "mean_s": round(float(np.mean(s)), 2),
            "p50_s": round(float(np.median(s)), 2),
            "max_s": max(s),
            "total_s": round(sum(s), 1),
        }
    ing = warm_ingestion(runs)
    out = {
        "kind": "summary",
        "measured": True,
        "days": args.days,
        "hours": hours,
        "requests": summary["requests"],
        "requests_per_day_arg": args.requests_per_day,
        "runs": len(runs),
        "failed_runs": sum(not r["success"] for r in runs),
        "replay_wall_s": round(replay_s, 1),
        "by_job": by_job,
        "ingestion_fit": fit([r["lines_read"] for r in ing], [r["seconds"] for r in ing]),
        "ingestion_fit_cpu": fit([r["lines_read"] for r in ing], [r["cpu_s"] for r in ing]),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "store_bytes": replay_end,
        "store_growth_per_day_bytes": [d["store_growth_bytes"] for d in day_lines],
        "cores": len(os.sched_getaffinity(0)),
        "goal": goal,
        "extrapolated_full": None if args.live else extrapolate(runs, summary["requests"], growth, start),
    }
    if args.live:
        lv = [r for r in runs if r["job"] == "live_job" and not r["cold"]]
        out["live_minutes"] = args.live
        out["live"] = live_stats(lv)
        out["live_fit"] = fit([r["lines_read"] for r in lv], [r["seconds"] for r in lv])
        out["live_fit_cpu"] = fit([r["lines_read"] for r in lv], [r["cpu_s"] for r in lv])
        out["live_tables_match"] = all(
            "live_tables_match" not in (r.get("checks_failed") or []) for r in runs if r["job"] == "ingestion_job"
        )
    print(json.dumps(out), flush=True)
    return 0 if not out["failed_runs"] and (goal is None or goal["success"]) else 1


def run_goal(defs, instance, work: Path, args: argparse.Namespace, runs: list[dict]) -> dict:
    """One hour at --goal-rate requests/s on the day after the replay, through that hour's runs; vs a bare DuckDB read."""
    import duckdb

    n = int(args.goal_rate * 3600)
    day = dt.date.fromisoformat(args.start) + dt.timedelta(days=args.days)
    path = goal_hour(work / "cache", work / "live", n, args.seed, day)
    t = time.perf_counter()
    with duckdb.connect() as con:
        con.execute(
            "SELECT count(*), avg(TRY_CAST(latency_ms AS DOUBLE)) FROM read_json(?, format='newline_delimited', "
            "ignore_errors=true)",
            [str(path)],
        ).fetchall()
    baseline = time.perf_counter() - t
    home, data = work / "dagster", work / "data"
    before = store_bytes(data, home)
    parts = [run_job(defs, instance, job, day.isoformat()) for job in ("ingestion_job", "anomaly_job")]
    after = store_bytes(data, home)
    secs = round(sum(p["seconds"] for p in parts), 2)
    ok = all(p["success"] for p in parts)
    out = {
        "kind": "goal",
        "measured": True,
        "day": day.isoformat(),
        "requests": n,
        "rate_per_s": args.goal_rate,
        "seconds": secs,
        "cpu_s": round(sum(p["cpu_s"] for p in parts), 2),
        "goal_s": GOAL_S,
        "met": ok and secs <= GOAL_S,
        "success": ok,
        "uncontended_s": None
        if parts[0].get("uncontended_s") is None
        else round(sum(p["uncontended_s"] for p in parts), 2),
        "cores": len(os.sched_getaffinity(0)),
        "peak_rss_mb": max(p["peak_rss_mb"] for p in parts),
        "baseline_duckdb_read_s": round(baseline, 2),
        "vs_baseline": round(secs / max(baseline, 1e-9), 1),
        "runs": parts,
        "store_growth_bytes": {k: after[k] - before[k] for k in after},
    }
    out["met_uncontended"] = None if out["uncontended_s"] is None else ok and out["uncontended_s"] <= GOAL_S
    ing = warm_ingestion(runs)
    for key, total in (("seconds", secs), ("uncontended_s", out["uncontended_s"]), ("cpu_s", out["cpu_s"])):
        if total is None:
            continue
        line = fit([r["lines_read"] for r in ing], [r[key] for r in ing])
        if (
            line and line["per_million_lines"] > 0
        ):  # the same hour as the 24th of a day at this rate: 23 hours more to read
            more = n * 23 * line["per_million_lines"] / 1e6
            out.setdefault("extrapolated_as_last_hour_of_day", {})[key] = round(total + more, 1)
    print(json.dumps(out), flush=True)
    return out


if __name__ == "__main__":
    sys.exit(main())
