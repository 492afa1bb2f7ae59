"""A seeded simulation of an LLM service: request logs, GPU/CPU samples, the seed's logs, labeled incidents.

Same arguments, same bytes. Token lengths follow the real Azure LLM inference traces (embedded as
quantiles in assets/reference); arrivals follow a diurnal and weekly cycle; latency grows with
tokens and load. Each model's vLLM instance writes its own `/metrics` scrapes (engine-<day>.prom), derived from the
requests it served. `incidents.json` is the ground truth of what was injected.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from monitor_pipeline.simulate.engine import Engines, kv_saturation_time
from monitor_pipeline.simulate.gpus import simulate_resources
from monitor_pipeline.simulate.incidents import Incident, schedule
from monitor_pipeline.simulate.traffic import MODELS, saturate, simulate_day
from monitor_pipeline.simulate.writers import iso_ms, request_lines, resource_lines

DEFAULT_START = dt.date(2026, 11, 17)  # a Tuesday: the default two days are weekdays


def simulate(
    out_dir: str | Path,
    days: int = 2,
    seed: int = 0,
    requests_per_day: int = 100_000,
    start: dt.date = DEFAULT_START,
    with_incidents: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Write `days` days of traffic into `out_dir`; return a summary (files, requests per day, incidents).

    `progress(days_done, days)` is called after each day (the CLI's progress bar)."""
    if days < 1 or requests_per_day < 1:
        raise ValueError("days and requests_per_day must be at least 1")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    master = np.random.Generator(np.random.PCG64(seed))
    incidents: list[Incident] = schedule(start, days, master, list(MODELS)) if with_incidents else []
    summary: dict = {
        "out_dir": str(out),
        "seed": seed,
        "days": [],
        "files": [],
        "bad_lines": 0,
    }
    engines = Engines(seed, requests_per_day)
    online, offline = [], []
    next_id = 0
    for k, rng in enumerate(np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(seed).spawn(days)):
        day = start + dt.timedelta(days=k)
        cols = simulate_day(rng, day, requests_per_day, incidents, next_id)
        incidents, cols = _saturate(cols, day, incidents, requests_per_day)
        next_id += len(cols["ts"])
        lines, bad = request_lines(cols, rng)
        req = out / f"requests-{day.isoformat()}.jsonl"
        req.write_text("\n".join(lines) + "\n")
        res = out / f"resources-{day.isoformat()}.jsonl"
        samples = simulate_resources(rng, day, cols["ts"], incidents, requests_per_day)
        res.write_text("\n".join(resource_lines(samples)) + "\n")
        online += _online_lines(cols, day)
        offline += _offline_lines(rng, day)
        summary["days"].append({"day": day.isoformat(), "requests": len(lines), "bad_lines": bad})
        summary["bad_lines"] += bad
        eng = out / f"engine-{day.isoformat()}.prom"
        eng.write_text(engines.day_text(day, cols))
        summary["files"] += [req.name, res.name, eng.name]
        if progress:
            progress(k + 1, days)
    (out / "online.log").write_text("\n".join(online) + "\n")
    (out / "offline.log").write_text("\n".join(offline) + "\n")
    summary["incidents"] = [i.to_json() for i in incidents]
    (out / "incidents.json").write_text(json.dumps(summary["incidents"], indent=1) + "\n")
    summary["files"] += ["online.log", "offline.log", "incidents.json"]
    summary["requests"] = sum(d["requests"] for d in summary["days"])
    return summary


def _saturate(
    cols: dict, day: dt.date, incidents: list[Incident], requests_per_day: int
) -> tuple[list[Incident], dict]:
    """Find when the kv_cache_saturation incident fills its model's KV cache this day, record it, slow the requests
    from then on. Requests that arrive later cannot change the usage before: the time found stays the time shown."""
    out = []
    for inc in incidents:
        if inc.kind == "kv_cache_saturation" and inc.start.date() == day:
            at = kv_saturation_time(cols, day, inc, requests_per_day)
            iso = None if at is None else dt.datetime.fromtimestamp(at, dt.UTC).isoformat()
            inc = dataclasses.replace(inc, details={**inc.details, "saturation_at": iso})
            cols = saturate(cols, inc)
        out.append(inc)
    return out, cols


def _online_lines(cols: dict, day: dt.date) -> list[str]:
    """The seed's online.log: per minute, requests served and the accuracy of the classify requests."""
    t0 = dt.datetime.combine(day, dt.time(), dt.UTC).timestamp()
    inside = (cols["ts"] >= t0) & (cols["ts"] < t0 + 86400)  # never pile other days' requests onto 23:59
    minute = ((cols["ts"][inside] - t0) // 60).astype(int)
    n = np.bincount(minute, minlength=1440)
    cls = cols["classify"][inside]
    right = (cols["prediction"][inside] == cols["label"][inside])[cls]
    hits = np.bincount(minute[cls], weights=right.astype(float), minlength=1440)
    total = np.bincount(minute[cls], minlength=1440)
    acc = np.divide(hits, total, out=np.full(1440, np.nan), where=total > 0)
    # A minute without classify requests repeats the last accuracy measured (the seed logs one line a minute).
    last = np.maximum.accumulate(np.where(total > 0, np.arange(1440), -1))
    acc = np.where(last >= 0, acc[np.maximum(last, 0)], np.nan)
    times = iso_ms(t0 + np.arange(1440) * 60.0)
    return [f"{times[i][:10]} {times[i][11:19]} {n[i]} {acc[i]:.4f}" for i in range(1440) if n[i] > 0 and last[i] >= 0]


def _offline_lines(rng: np.random.Generator, day: dt.date) -> list[str]:
    """The seed's offline.log: a few batch jobs an hour with their batch size and training samples."""
    t0 = dt.datetime.combine(day, dt.time(), dt.UTC).timestamp()
    ts = np.sort(t0 + rng.uniform(0, 86400, 72))
    bs = rng.choice([8, 16, 32, 64], len(ts))
    samples = bs * rng.integers(50, 400, len(ts))
    times = iso_ms(ts)
    return [f"{t[:10]} {t[11:19]} {b} {s}" for t, b, s in zip(times, bs, samples, strict=True)]
