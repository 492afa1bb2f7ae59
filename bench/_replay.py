"""Replay data for bench/load.py: simulated days cached once, indexed by hour, fed to live logs an hour at a time."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import numpy as np

from monitor_pipeline.simulate import DEFAULT_START, simulate
from monitor_pipeline.simulate.writers import iso_ms

STAMP = re.compile(rb"(\d{4}-\d{2}-\d{2})[T ](\d{2})")
MINUTE = re.compile(rb"\d{4}-\d{2}-\d{2}[T ]\d{2}:(\d{2})")
PROM_STAMP = re.compile(rb"\s(\d{13})\s*$")  # a Prometheus sample's trailing timestamp in milliseconds
JSON_TS = '{"timestamp": "'


def parse_hours(text: str) -> list[int]:
    """'0-23', '5,11,17,23' or '0-2,12' -> sorted hours; an error names the bad part."""
    hours: set[int] = set()
    for part in text.split(","):
        a, dash, b = part.strip().partition("-")
        if not a.isdigit() or (dash and not b.isdigit()):
            raise SystemExit(f"--hours: `{part}` is not an hour or a range like 0-23")
        hours.update(range(int(a), int(b or a) + 1))
    if not hours or min(hours) < 0 or max(hours) > 23:
        raise SystemExit(f"--hours: {text!r} must name hours between 0 and 23")
    return sorted(hours)


def _hour(line: bytes) -> tuple[str, int] | None:
    """(date, hour) of a line: an ISO time near its start, else a Prometheus sample's trailing epoch milliseconds."""
    if m := STAMP.search(line, 0, 64):
        return m.group(1).decode(), int(m.group(2))
    if m := PROM_STAMP.search(line):
        t = dt.datetime.fromtimestamp(int(m.group(1)) / 1000, dt.UTC)
        return t.date().isoformat(), t.hour
    return None


def hour_index(path: Path) -> dict[tuple[str, int], list[int]]:
    """(date, hour) -> [first byte, end byte, lines] of a time-sorted log; a line without a stamp joins the hour before
    (lines before the first stamp, such as a file's header comment, join the first hour)."""
    index: dict[tuple[str, int], list[int]] = {}
    key, pos, head, head_lines = None, 0, 0, 0
    with open(path, "rb") as fh:
        for n, line in enumerate(fh, 1):
            new = _hour(line) or key
            if new is None:
                head, head_lines = head + len(line), head_lines + 1
                pos += len(line)
                continue
            if new != key:
                if new in index or (key is not None and new < key):
                    raise SystemExit(f"{path}:{n}: hour {new} out of order; the replay needs time-sorted logs")
                index[new] = [pos, pos, 0] if key is not None else [0, pos, head_lines]
                key = new
            pos += len(line)
            index[key][1], index[key][2] = pos, index[key][2] + 1
    if key is None:
        raise SystemExit(f"{path}: no timestamp in any line; the replay needs time-sorted logs")
    return index


def simulated(cache: Path, days: int, rpd: int, seed: int, start: dt.date) -> tuple[Path, dict, dict]:
    """Simulate once per (days, rate, seed, start) into the cache; the summary and each file's hour index."""
    sim = cache / f"sim-{start}-{days}d-{rpd}-s{seed}"
    done = sim / "bench-index.json"
    if not done.exists():
        shutil.rmtree(sim, ignore_errors=True)
        summary = simulate(sim, days=days, seed=seed, requests_per_day=rpd, start=start)
        index = {
            f: {f"{d} {h:02d}": v for (d, h), v in hour_index(sim / f).items()}
            for f in summary["files"]
            if f != "incidents.json"
        }
        done.write_text(json.dumps({"summary": summary, "index": index}))
    data = json.loads(done.read_text())
    return sim, data["summary"], data["index"]


def append_hour(sim: Path, index: dict, live: Path, day: str, hour: int) -> int:
    """Append every file's lines of (day, hour) to its live copy; the request lines added."""
    requests = 0
    for name, hours in index.items():
        span = hours.get(f"{day} {hour:02d}")
        if not span:
            continue
        with open(sim / name, "rb") as src, open(live / name, "ab") as dst:
            src.seek(span[0])
            dst.write(src.read(span[1] - span[0]))
        requests += span[2] if name.startswith("requests-") else 0
    return requests


def _minute(line: bytes, before: int) -> int:
    """The minute of the hour a line was written at (ISO time near its start, or a Prometheus sample's epoch ms);
    a line without a time (a continuation) goes with the line before."""
    if m := MINUTE.search(line, 0, 64):
        return int(m.group(1))
    if m := PROM_STAMP.search(line):
        return dt.datetime.fromtimestamp(int(m.group(1)) / 1000, dt.UTC).minute
    return before


def append_slice(sim: Path, index: dict, live: Path, day: str, hour: int, m0: int, m1: int) -> int:
    """Append every file's lines of (day, hour) written in minutes [m0, m1) to its live copy; the request lines added.
    Lines before the hour's first time (a header) go with the first slice."""
    requests = 0
    for name, hours in index.items():
        span = hours.get(f"{day} {hour:02d}")
        if not span:
            continue
        with open(sim / name, "rb") as src:
            src.seek(span[0])
            chunk = src.read(span[1] - span[0])
        keep, minute = [], 0
        for line in chunk.splitlines(keepends=True):
            minute = _minute(line, minute)
            if m0 <= minute < m1:
                keep.append(line)
        if keep:
            with open(live / name, "ab") as dst:
                dst.writelines(keep)
        if name.startswith("requests-"):
            requests += len(keep)
    return requests


def goal_hour(cache: Path, live: Path, n: int, seed: int, day: dt.date) -> Path:
    """Write n simulated requests retimed into 00:00-01:00 of `day` (and hour 00 of the other feeds) into live/."""
    src_day = DEFAULT_START + dt.timedelta(days=1)  # a weekday: the simulator's mean rate
    sim = cache / f"goal-{n}-s{seed}"
    if not (sim / "incidents.json").exists():
        simulate(sim, days=1, seed=seed + 1, requests_per_day=int(n * 1.02) + 200, start=src_day, with_incidents=False)
    lines = (sim / f"requests-{src_day}.jsonl").read_text().splitlines()[:n]
    if len(lines) < n or not all(x.startswith(JSON_TS) for x in lines):
        raise SystemExit(f"{sim}: expected {n} time-stamped request lines; delete the folder to re-simulate")
    ts = np.array([x[15:38] for x in lines], dtype="datetime64[ms]").astype(np.int64) / 1000.0
    t0 = dt.datetime.combine(day, dt.time(), dt.UTC).timestamp()
    new = iso_ms(t0 + (ts - ts[0]) * 3599.0 / max(ts[-1] - ts[0], 1e-9))
    out = live / f"requests-{day}.jsonl"
    with open(out, "w") as fh:
        for stamp, x in zip(new, lines, strict=True):  # ids must not collide with the replayed days'
            fh.write(JSON_TS + stamp + x[39:].replace('"request_id": "req-', '"request_id": "goal-', 1) + "\n")
    redate = re.compile(r"\d{4}-\d{2}-\d{2}")
    for name in (f"resources-{src_day}.jsonl", "online.log", "offline.log"):
        first = [
            x
            for x in (sim / name).read_text().splitlines()
            if STAMP.search(x[:64].encode()) and STAMP.search(x[:64].encode()).group(2) == b"00"
        ]
        target = live / name.replace(str(src_day), str(day))
        with open(target, "a") as fh:
            fh.writelines(redate.sub(str(day), x, count=1) + "\n" for x in first)
    return out
