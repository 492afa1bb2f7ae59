"""History for bench/live.py: quiet traffic before the live run, simulated by the live simulator (the same generator,
rate and profile as the live run) in chunks, and ingested day by day as batch partitions."""

from __future__ import annotations

import datetime as dt
import json
import math
import multiprocessing as mp
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from monitor_pipeline.simulate.live import MAX_REQUESTS, PEAK_OVER_MEAN, simulate_live

# (config source name, file prefix and extension, ingest format): the three files the live simulator writes.
SOURCES = (
    ("gateway", "requests", ".jsonl", "jsonl"),
    ("gpu_samples", "resources", ".jsonl", "resources_jsonl"),
    ("vllm_metrics", "engine", ".prom", "prometheus"),
)
CHUNK_MIN = 120  # simulated minutes a chunk generates at most (the lines of a chunk are held in memory)
HUGE_SPEED = 1e9  # a chunk is written as fast as it is generated


def chunk_minutes(rate: float) -> int:
    """Minutes per chunk: at most CHUNK_MIN, and under half the simulator's request cap at the profile's peak."""
    return max(5, min(CHUNK_MIN, int(MAX_REQUESTS / 2 / (rate * 60 * PEAK_OVER_MEAN))))


def chunks(start: float, end: float, minutes: int) -> list[tuple[float, float]]:
    """[start, end) cut into pieces of at most `minutes`, each ending on a multiple of `minutes` past midnight UTC
    (so that no chunk straddles midnight needlessly)."""
    out = []
    step = 60.0 * minutes
    t = start
    while t < end:
        nxt = min(end, (math.floor(t / step) + 1) * step)
        out.append((t, nxt))
        t = nxt
    return out


def days_of(start: float, end: float) -> list[dt.date]:
    """The UTC days [start, end) touches."""
    first = dt.datetime.fromtimestamp(start, dt.UTC).date()
    last = dt.datetime.fromtimestamp(end - 1e-6, dt.UTC).date()
    return [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]


def _midnight(day: dt.date) -> float:
    return dt.datetime.combine(day, dt.time(), dt.UTC).timestamp()


def _generate(out: str, rate: float, start: float, end: float, seed: int, profile: str, queue: Any) -> None:
    """Child process: write the chunks in order; after each, tell the parent which days are complete."""
    reported: set[str] = set()
    n = 0
    try:
        for k, (a, b) in enumerate(chunks(start, end, chunk_minutes(rate))):
            # A seed per chunk: chunks sharing one would repeat their random draws at other times of the day, and a
            # history that repeats itself makes the anomaly scores' residual scale too small.
            summary = simulate_live(
                out,
                rate=rate,
                minutes=(b - a) / 60.0,
                speed=HUGE_SPEED,
                seed=seed * 100_003 + k + 1,
                start=dt.datetime.fromtimestamp(a, dt.UTC),
                profile=profile,
            )
            n += summary["requests"]
            done = [d.isoformat() for d in days_of(start, end) if _midnight(d) + 86400 <= b]
            new = [d for d in done if d not in reported]
            reported.update(new)
            queue.put({"chunk": k, "until": b, "requests": n, "days_done": new})
        rest = [d.isoformat() for d in days_of(start, end) if d.isoformat() not in reported]
        queue.put({"done": True, "requests": n, "days_done": rest})
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails the bench with it
        queue.put({"error": f"{type(exc).__name__}: {exc}"})


def ingest_day(config: Path, hist: Path, day: str) -> dict[str, Any]:
    """Batch-ingest one day of the history's three files as that day's partition of each configured source (the
    `monitor-pipeline ingest` CLI, one process per source); the CLI's JSON summaries."""
    out = {}
    for source, prefix, ext, fmt in SOURCES:
        path = hist / f"{prefix}-{day}{ext}"
        if not path.exists():
            continue
        cmd = [
            sys.executable,
            "-m",
            "monitor_pipeline.cli",
            "--config",
            str(config),
            "ingest",
            str(path),
            "--format",
            fmt,
            "--source",
            source,
            "--partition",
            day,
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"ingest of {path.name} failed ({done.returncode}): {done.stderr[-2000:]}")
        res = json.loads(done.stdout.strip().splitlines()[-1])
        out[source] = {k: res.get(k) for k in ("read", "clean", "quarantined", "skipped") if k in res}
    return out


def build_history(
    config: Path,
    hist: Path,
    rate: float,
    start: float,
    end: float,
    seed: int,
    profile: str = "flat",
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Simulate [start, end) into `hist` in a child process and ingest each day as soon as it is complete (the
    simulation of the next day and the ingestion of the last overlap); what was done, with times."""
    hist.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    queue: Any = mp.get_context("fork").Queue()
    child = mp.get_context("fork").Process(
        target=_generate, args=(str(hist), rate, start, end, seed, profile, queue), name="history"
    )
    child.start()
    ingested: dict[str, Any] = {}
    ingest_s = 0.0
    requests = 0
    try:
        while True:
            msg = queue.get()
            if "error" in msg:
                raise RuntimeError(f"history simulation failed: {msg['error']}")
            requests = msg["requests"]
            for day in msg["days_done"]:
                t = time.monotonic()
                ingested[day] = ingest_day(config, hist, day)
                ingest_s += time.monotonic() - t
                say(
                    f"history: {day} ingested ({ingested[day].get('gateway', {}).get('clean', 0):,} requests) "
                    f"after {time.monotonic() - t0:.0f} s"
                )
            if msg.get("done"):
                break
    finally:
        child.join(timeout=5)
        if child.is_alive():
            child.terminate()
            child.join()
    return {
        "start": dt.datetime.fromtimestamp(start, dt.UTC).isoformat(),
        "end": dt.datetime.fromtimestamp(end, dt.UTC).isoformat(),
        "days": round((end - start) / 86400, 2),
        "rate": rate,
        "profile": profile,
        "requests": requests,
        "bytes": sum(p.stat().st_size for p in hist.iterdir() if p.is_file()),
        "seconds": round(time.monotonic() - t0, 1),
        "ingest_seconds": round(ingest_s, 1),
        "partitions": ingested,
    }
