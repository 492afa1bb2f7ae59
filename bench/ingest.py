"""Ingestion benchmark: this project vs a bare DuckDB query vs pandas, on the same generated file.

    python bench/ingest.py --records 1000000 [--keep FILE] [--threads T] [--baseline DIR]
    python bench/ingest.py --incremental-day 480000

Also: this project with redaction off (redaction must cost <= 10 %), and, with --baseline, the same ingestion from
another checkout of the project (e.g. `git worktree add /tmp/base HEAD~5`) on the same file in the same run.

The bare DuckDB query is what issue 17 compares against: read_json, dedupe on request_id, the 5-minute aggregate.

Each approach runs in a fresh subprocess so its peak RSS is its own. `seconds` is the work itself, timed with
perf_counter inside that subprocess around the ingest call (ours) or the queries (bare, pandas): interpreter start
and imports are excluded, so a ratio compares the work and not Python's start-up. `wall_s` is the whole
subprocess, start-up included. Prints one JSON line.

`--incremental-day N`: a day of N requests in time order, appended hour by hour (24 appends) to a real file that one
process follows with `ingest_incremental` into one warehouse; prints each append's seconds and last/first.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = {
    "timestamp": "VARCHAR",
    "request_id": "VARCHAR",
    "model": "VARCHAR",
    "user_id": "VARCHAR",
    "client_ip": "VARCHAR",
    "operation": "VARCHAR",
    "input_tokens": "BIGINT",
    "output_tokens": "BIGINT",
    "latency_ms": "DOUBLE",
    "ttft_ms": "DOUBLE",
    "status": "VARCHAR",
    "error_type": "VARCHAR",
    "http_status": "BIGINT",
    "prompt": "VARCHAR",
    "completion": "VARCHAR",
    "prediction": "VARCHAR",
    "label": "VARCHAR",
    "score": "DOUBLE",
    "accuracy": "DOUBLE",
    "batch_size": "BIGINT",
}
TARGETS = {
    "ours_vs_duckdb_max": 2.0,  # issue 17: within 2x the bare read_json + dedupe + 5-minute aggregate
    "pandas_vs_ours_min": 1.5,
    "peak_rss_mb_max_at_10M": 1536,
    "redaction_cost_max": 0.10,
    "incremental_last_vs_first_max": 1.5,
}


MODELS = np.array(["llama-3.1-8b", "qwen2.5-14b", "mistral-7b"])
PROMPTS = [
    "Summarise the ticket below.",
    "Translate this paragraph into German, keeping the tone.",
    "Write a SQL query that counts orders per day for the last week.",
    "Classify the sentiment.",
    "Explain this stack trace and propose a fix: " + "frame " * 20,
]
T0 = 1763596800.0  # 2025-11-20T00:00:00Z
BATCH = 100_000  # records generated and written at a time: the generator's memory stays flat at any --records


def _lines(rng: np.random.Generator, start: int, ts: np.ndarray) -> list[str]:
    """Records `start`, `start + 1`, ... at times `ts`; ~0.5% bad lines of mixed kinds, 0.1% PII prompts."""
    m = len(ts)
    mi = rng.integers(0, 3, m)
    users = rng.zipf(1.3, m) % 500
    inp = rng.lognormal(6, 0.9, m).astype(int)
    out = rng.lognormal(5, 0.8, m).astype(int)
    ttft = 20 + inp * 0.04 + rng.exponential(15, m)
    lat = ttft + out * rng.uniform(8, 15, m)
    err = rng.random(m) < 0.01
    bad = rng.random(m)
    lines = []
    for i in range(m):
        k = start + i
        tsz = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts[i])) + f".{int(ts[i] % 1 * 1000):03d}Z"
        rec = (
            f'{{"timestamp": "{tsz}", "request_id": "req-{k}", "model": "{MODELS[mi[i]]}", '
            f'"user_id": "user-{users[i]}", "client_ip": "10.0.{users[i] % 250}.{users[i] % 200}", '
            f'"operation": "chat", "input_tokens": {inp[i]}, "output_tokens": {out[i]}, '
            f'"latency_ms": {lat[i]:.1f}, "ttft_ms": {ttft[i]:.1f}, "status": "{"error" if err[i] else "ok"}", '
            f'"http_status": {504 if err[i] else 200}, "prompt": "{PROMPTS[k % 5]}", "batch_size": 8}}'
        )
        b = bad[i]
        if b < 0.001:
            rec = rec[: len(rec) // 2]
        elif b < 0.002:
            rec = rec.replace('"latency_ms": ', '"latency_ms": -')
        elif b < 0.003:
            rec = rec.replace(f'"input_tokens": {inp[i]}', '"input_tokens": "n/a"')
        elif b < 0.004:
            rec = rec.replace(f'"request_id": "req-{k}"', f'"request_id": "req-{max(0, k - 1)}"')
        elif b < 0.005:
            rec = rec.replace(tsz, "yesterday")
        elif b < 0.006:  # PII in a prompt: what redaction is there for
            rec = rec.replace(f'"prompt": "{PROMPTS[k % 5]}"', f'"prompt": "mail me at user{k}@example.com"')
        lines.append(rec)
    return lines


def generate(path: Path, n: int, seed: int = 0) -> None:
    """N canonical JSONL records over one day, 3 models, ~500 users, ~0.5% bad lines of mixed kinds.

    Written BATCH records at a time (each batch spread over the whole day, sorted within itself), so 10M records
    take no more memory than 100k."""
    rng = np.random.default_rng(seed)
    with open(path, "w") as fh:
        for start in range(0, n, BATCH):
            m = min(BATCH, n - start)
            ts = T0 + np.sort(rng.uniform(0, 86400, m))
            fh.write("\n".join(_lines(rng, start, ts)) + "\n")


def generate_day(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """A day of N records in time order as 24 files, one an hour (what the hourly appends add to the log)."""
    rng = np.random.default_rng(seed)
    parts, start = [], 0
    for hour in range(24):
        m = n * (hour + 1) // 24 - n * hour // 24
        part = folder / f"hour{hour:02d}.jsonl"
        with open(part, "w") as fh:
            for lo in range(0, m, BATCH):
                k = min(BATCH, m - lo)
                # the hour's records in time order, BATCH at a time: each batch covers its share of the hour
                span = 3600 * k / m
                ts = T0 + hour * 3600 + 3600 * lo / m + np.sort(rng.uniform(0, span, k))
                fh.write("\n".join(_lines(rng, start, ts)) + "\n")
                start += k
        parts.append(part)
    return parts


# pandas is imported first as it is in every process that runs the pipeline (Dagster, Evidently and GX load it):
# otherwise the first Arrow conversion in redaction pays its import (0.2 s) and redaction looks 4 % dearer.
# Each snippet prints one JSON line: `work_s` is the work itself (perf_counter around the ingest / the queries).
OURS = """
import datetime as dt, json, sys, time
import pandas
sys.path.insert(0, {root!r})
from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
from monitor_pipeline.ingest.request import build_request
now = dt.datetime(2026, 11, 24, tzinfo=dt.timezone.utc)
t = time.perf_counter()
r = DuckDBEngine({db!r}, threads={threads}).ingest(build_request([{file!r}], "jsonl", now=now, redact={redact}))
work = time.perf_counter() - t
print(json.dumps({{"work_s": work, "output": f"{{r.read}} {{r.clean}} {{r.quarantined}} {{r.windows_5m}} {{r.redacted}}"}}))
"""
# A bare DuckDB query, what issue 17 compares against: read_json, dedupe on request_id, the 5-minute aggregate.
# With numbered=True it reads the file the way nothing-lost accounting needs: every line numbered and paired with its
# JSON object (DuckDB's line reader POSITIONAL JOIN its JSON reader), the pairing this project's line-numbered read
# starts from.
BARE = """
import duckdb, json, time
con = duckdb.connect({db!r})
if {threads}: con.execute("SET threads = {threads}")
con.execute("SET enable_progress_bar = false")
cols = {cols!r}
rows = f"read_json({file!r}, format='newline_delimited', ignore_errors=true, columns={{cols}})"
t = time.perf_counter()
if {numbered}:
    import sys
    sys.path.insert(0, {root!r})
    from monitor_pipeline.ingest.formats.base import line_reader_sql
    lines = line_reader_sql({file!r}, 1 << 24)
    con.execute(f"CREATE TABLE requests AS SELECT * FROM (SELECT row_number() OVER () AS line_no, r.* FROM {{lines}} l "
                f"POSITIONAL JOIN {{rows}} r) QUALIFY row_number() OVER (PARTITION BY request_id ORDER BY line_no) = 1")
else:
    con.execute(f"CREATE TABLE requests AS SELECT DISTINCT ON (request_id) * FROM {{rows}}")
con.execute(\"\"\"CREATE TABLE w AS SELECT time_bucket(INTERVAL '5 minutes', TRY_CAST(timestamp AS TIMESTAMPTZ)) AS w, model,
  count(*) AS requests, avg(CASE WHEN status = 'error' THEN 1.0 ELSE 0.0 END) AS error_rate,
  quantile_cont(latency_ms, 0.5), quantile_cont(latency_ms, 0.95), quantile_cont(latency_ms, 0.99),
  quantile_cont(ttft_ms, 0.95), sum(input_tokens), sum(output_tokens), count(DISTINCT user_id)
  FROM requests GROUP BY ALL\"\"\")
con.close()
work = time.perf_counter() - t
con = duckdb.connect({db!r}, read_only=True)
n = con.execute("SELECT count(*) FROM requests").fetchone()[0], con.execute("SELECT count(*) FROM w").fetchone()[0]
print(json.dumps({{"work_s": work, "output": f"{{n[0]}} {{n[1]}}"}}))
"""
PANDAS = """
import json, time, pandas as pd
t = time.perf_counter()
frames = []
with open({file!r}) as fh:
    batch = []
    for line in fh:
        try:
            batch.append(json.loads(line))
        except ValueError:
            continue
        if len(batch) == 200_000:
            frames.append(pd.DataFrame(batch)); batch = []
    frames.append(pd.DataFrame(batch))
df = pd.concat(frames, ignore_index=True)
df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True, errors="coerce", format="ISO8601")
for c in ("input_tokens", "output_tokens", "latency_ms", "ttft_ms"):
    df[c] = pd.to_numeric(df[c], errors="coerce")
df = df.drop_duplicates("request_id")
df["w"] = df["timestamp"].dt.floor("5min")
df["is_error"] = (df["status"] == "error").astype(float)
g = df.groupby(["w", "model"]).agg(requests=("request_id", "size"), error_rate=("is_error", "mean"),
    p50=("latency_ms", lambda s: s.quantile(0.5)), p95=("latency_ms", lambda s: s.quantile(0.95)),
    p99=("latency_ms", lambda s: s.quantile(0.99)), ttft95=("ttft_ms", lambda s: s.quantile(0.95)),
    inp=("input_tokens", "sum"), out=("output_tokens", "sum"), users=("user_id", "nunique"))
print(json.dumps({{"work_s": time.perf_counter() - t, "output": f"{{len(df)}} {{len(g)}}"}}))
"""
# 24 hourly appends to one growing file, each followed by one incremental ingest into the same warehouse (one
# process, as `monitor-pipeline ingest PATH --incremental` run from cron would find it, less the interpreter start).
INCREMENTAL = """
import datetime as dt, json, shutil, sys, time
import pandas
sys.path.insert(0, {root!r})
from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
from monitor_pipeline.ingest.follow import ingest_incremental
from monitor_pipeline.ingest.request import build_request
now = dt.datetime(2026, 11, 24, tzinfo=dt.timezone.utc)
engine = DuckDBEngine({db!r}, threads={threads})
seconds, clean, quarantined = [], 0, 0
for part in {parts!r}:
    with open(part, "rb") as src, open({file!r}, "ab") as dst:
        shutil.copyfileobj(src, dst)
    request = build_request([{file!r}], "jsonl", now=now)
    t = time.perf_counter()
    r = ingest_incremental(engine, request)
    seconds.append(time.perf_counter() - t)
    clean, quarantined = clean + r.clean, quarantined + r.quarantined
print(json.dumps({{"append_seconds": seconds, "output": f"{{clean}} {{quarantined}}"}}))
"""


def run(code: str) -> dict:
    """Run `code` in a fresh interpreter: the work's seconds (its own timer), wall seconds, peak RSS, output."""
    t = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    out, err = p.stdout.read(), p.stderr.read()
    if status != 0:
        raise SystemExit(f"benchmark step failed:\n{err[-2000:]}")
    reported = json.loads(out.strip().splitlines()[-1])
    work = reported.pop("work_s", None)
    return {
        **({"seconds": round(work, 3)} if work is not None else {}),
        "wall_s": round(wall, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),  # the whole process, imports included
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        **{k: ([round(x, 3) for x in v] if isinstance(v, list) else v) for k, v in reported.items()},
    }


def median_run(runs: list[dict]) -> dict:
    """The run with the median time (its RSS and output too), with every run's seconds beside it."""
    ordered = sorted(runs, key=lambda r: r["seconds"])
    return {**ordered[len(ordered) // 2], "all_seconds": [r["seconds"] for r in runs]}


def incremental_day(args: argparse.Namespace, tmp: str) -> dict:
    """--incremental-day N: time each of 24 hourly incremental ingests of a day of N records."""
    folder = Path(tmp)
    parts = generate_day(folder, args.incremental_day)
    r = run(
        INCREMENTAL.format(
            root=str(ROOT),
            db=str(folder / "incremental.duckdb"),
            threads=args.threads,
            parts=[str(p) for p in parts],
            file=str(folder / "requests.jsonl"),
        )
    )
    seconds = r["append_seconds"]
    ratio = round(seconds[-1] / seconds[0], 2)
    return {
        "incremental_day": args.incremental_day,
        "appends": len(seconds),
        "append_seconds": seconds,
        "first_s": seconds[0],
        "last_s": seconds[-1],
        "last_vs_first": ratio,
        "total_s": round(sum(seconds), 3),
        "wall_s": r["wall_s"],
        "peak_rss_mb": r["peak_rss_mb"],
        "output": r["output"],
        "target": TARGETS["incremental_last_vs_first_max"],
        "met": ratio <= TARGETS["incremental_last_vs_first_max"],
    }


def main() -> None:
    """Generate once, time the approaches on the same file, print one JSON line."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--keep", help="generate into (or reuse) this file instead of a temp file")
    ap.add_argument("--threads", type=int, default=0, help="DuckDB threads (0: all cores)")
    ap.add_argument("--skip-pandas", action="store_true")
    ap.add_argument("--baseline", help="another checkout of this project: its ingestion is timed on the same file")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each of ours / ours without redaction / baseline")
    ap.add_argument(
        "--incremental-day",
        type=int,
        default=0,
        metavar="N",
        help="instead: a day of N requests appended hour by hour, each append ingested with --incremental",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.incremental_day:
            print(json.dumps(incremental_day(args, tmp)))
            return
        file = Path(args.keep) if args.keep else Path(tmp) / "requests.jsonl"
        if not file.exists():
            generate(file, args.records)
        n = sum(1 for _ in open(file, "rb")) if args.keep else args.records
        fmt = dict(root=str(ROOT), file=str(file), threads=args.threads, cols=COLUMNS)
        # Ours, ours without redaction, the baseline checkout and the bare query alternate, `--repeat` times, in a
        # rotating order (the first process after generating pays for a cold cache): each figure is the median run.
        variants = {
            "ours": (OURS, True, fmt),
            "ours_no_redaction": (OURS, False, fmt),
            "duckdb_bare": (BARE, False, fmt),
        }
        if args.baseline:
            variants["baseline"] = (OURS, True, {**fmt, "root": str(Path(args.baseline).resolve())})
        runs: dict[str, list[dict]] = {k: [] for k in variants}
        names = list(variants)
        for rep in range(args.repeat):
            for name in names[rep % len(names) :] + names[: rep % len(names)]:
                code, flag, f = variants[name]
                db = Path(tmp) / f"{name}{rep}.duckdb"
                if code is BARE:
                    runs[name].append(run(BARE.format(db=str(db), numbered=False, **f)))
                else:
                    runs[name].append(run(OURS.format(db=str(db), redact=flag, **f)))
                db.unlink(missing_ok=True)  # a 10M-row warehouse is a few GB of /tmp
        ours, unredacted, bare = (median_run(runs[k]) for k in ("ours", "ours_no_redaction", "duckdb_bare"))
        baseline = median_run(runs["baseline"]) if args.baseline else None
        numbered = run(BARE.format(db=str(Path(tmp) / "numbered.duckdb"), numbered=True, **fmt))
        pandas = None if args.skip_pandas else run(PANDAS.format(**fmt))
        report = {"records": n, "file_mb": round(file.stat().st_size / 2**20, 1), "seconds": "work, imports excluded"}
        for name, r in (
            ("ours", ours),
            ("ours_no_redaction", unredacted),
            ("baseline", baseline),
            ("duckdb_bare", bare),
            ("duckdb_numbered_lines", numbered),
            ("pandas", pandas),
        ):
            if r:
                report[name] = {**r, "records_per_s": round(n / r["seconds"])}
        report["redaction_cost"] = round(ours["seconds"] / unredacted["seconds"] - 1, 3)
        if baseline:
            report["ours_vs_baseline"] = round(ours["seconds"] / baseline["seconds"], 2)
        report["ours_vs_duckdb"] = round(ours["seconds"] / bare["seconds"], 2)
        report["ours_vs_duckdb_wall"] = round(ours["wall_s"] / bare["wall_s"], 2)
        # How much of the gap the line-numbered read alone would be (no typing, quarantine or second window).
        report["numbered_vs_duckdb"] = round(numbered["seconds"] / bare["seconds"], 2)
        if pandas:
            report["pandas_vs_ours"] = round(pandas["seconds"] / ours["seconds"], 2)
        report["targets"] = TARGETS
        report["met"] = {
            "ours_vs_duckdb": report["ours_vs_duckdb"] <= TARGETS["ours_vs_duckdb_max"],
            "pandas_vs_ours": bool(pandas) and report["pandas_vs_ours"] >= TARGETS["pandas_vs_ours_min"],
            "peak_rss": ours["peak_rss_mb"] <= TARGETS["peak_rss_mb_max_at_10M"],
            "redaction_cost": report["redaction_cost"] <= TARGETS["redaction_cost_max"],
        }
        print(json.dumps(report))


if __name__ == "__main__":
    main()
