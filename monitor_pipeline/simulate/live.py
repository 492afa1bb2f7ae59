"""A live simulation: the batch simulator's requests, GPU/CPU samples and vLLM scrapes, appended in real time.

The window [start, start + minutes] is generated up front, deterministically from the seed (same arguments, same
lines), with the batch simulator's machinery: the Azure token traces, the latency and error model, the incidents'
effects, the engines' scrapes and the GPU samples. Only the writing follows the clock: simulated time runs `speed`
times as fast as the wall clock and never ahead of it, and every line is appended once the simulated clock has passed
its timestamp, whole and in timestamp order, to the file of its UTC day (`requests-<day>.jsonl`,
`resources-<day>.jsonl`, `engine-<day>.prom`). `incidents.json` lists the incidents whose onset has passed. The
service is already running at the start: ten minutes of earlier traffic are generated (not written), so the engines'
gauges and counters and the GPUs' load start where a running service would be.

Differences from the batch simulator: arrivals are a flat Poisson process of `rate` requests a second by default (a run
of minutes has no diurnal cycle to speak of), so the load is an ordinary one outside a traffic spike; with
`profile="diurnal"` they follow the batch's diurnal and weekly cycle (`traffic.rate_profile`) instead, scaled as the
batch's `requests_per_day = rate * 86400` (an ordinary weekday's mean rate is `rate`), with the batch's load and so its
latency and errors: a history for the live loop's anomaly scores (each window is compared with the same time the day
before) and a live run that continues it must share one profile. Incidents are placed
by the caller and last minutes, not hours; request ids carry the run's start (`req-<epoch s>-<n>`), so that runs into
the same directory never share one (the warehouse keeps one row per request id); the engines' scripted restart of the
batch's first day does not happen; there is no online.log or offline.log.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from monitor_pipeline.errors import InputError
from monitor_pipeline.simulate import _saturate
from monitor_pipeline.simulate.engine import HEADER, REFERENCE_DAY, SLOTS, Engines
from monitor_pipeline.simulate.gpus import simulate_resources
from monitor_pipeline.simulate.incidents import Incident
from monitor_pipeline.simulate.live_incidents import as_of, parse_incident, plan_incidents
from monitor_pipeline.simulate.rotate import ROTATE_MODES, rotate
from monitor_pipeline.simulate.traffic import population, rate_profile, request_columns
from monitor_pipeline.simulate.writers import request_lines, resource_lines

MIN_TICK_S = 0.01  # wall seconds between steps at most: at high speeds one step writes several simulated seconds
MAX_WAIT_S = 0.5  # wall seconds a step waits at most, so that a stop (Ctrl-C, SIGTERM) is seen at any speed
# The service was running before the run: its requests of the last minutes fill the engines' 5-minute gauges, the
# GPUs' load and the requests still in flight at the start. Only lines from the start on are written.
WARMUP_S = 600
MAX_REQUESTS = 2_000_000  # the window's lines are held in memory (about 0.5 kB each): lower --rate or --minutes
DAY_S = 86400
PROFILES = ("flat", "diurnal")
# The diurnal profile's mean over an ordinary weekday, which `rate` is (as the batch's requests_per_day), and its peak
# over that mean (what bounds the requests of a window).
WEEKDAY_MEAN = float(rate_profile(REFERENCE_DAY).mean())
PEAK_OVER_MEAN = float(rate_profile(REFERENCE_DAY).max()) / WEEKDAY_MEAN


@dataclass
class _Stream:
    """One kind of file's lines in timestamp order; each line goes to the file of its UTC day."""

    prefix: str
    ext: str
    ts: np.ndarray
    lines: list[str]
    header: str | None = None  # the first line of a new file
    done: int = 0  # lines written so far
    day: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.day = (self.ts // DAY_S).astype(np.int64)

    def name(self, day: int) -> str:
        """The file name of epoch day `day`."""
        return f"{self.prefix}-{(dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()}{self.ext}"


@dataclass
class _Plan:
    """Everything the run will write, generated before the first line is."""

    start: float
    end: float
    requests: _Stream
    others: list[_Stream]
    incidents: list[Incident]


class _Stop:
    """A signal handler that asks the loop to stop after its step: a write is never cut short."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum: int, frame: Any) -> None:
        self.requested = True


def simulate_live(
    out_dir: str | Path,
    rate: float,
    minutes: float,
    speed: float = 1.0,
    incidents: Iterable[str | tuple] = (),
    seed: int = 0,
    start: dt.datetime | None = None,
    rotate_minutes: float = 0,
    rotate_mode: str = "rename",
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    notice: Callable[[str], None] | None = None,
    profile: str = "flat",
) -> dict:
    """Append `minutes` of simulated traffic (`rate` requests/s; `profile` flat, or diurnal with `rate` an ordinary
    weekday's mean) to `out_dir` in real time, `incidents` (`KIND@MIN[+LEN]`, see parse_incident) injected; return a
    summary."""
    _check(rate, minutes, speed, rotate_minutes, rotate_mode, profile)
    specs = sorted((parse_incident(s) for s in incidents), key=lambda s: s[1])
    for kind, at, _ in specs:
        if not 0 <= at < minutes:
            raise InputError(f"--incident {kind}@{at:g}: the minute must be at least 0 and below --minutes {minutes:g}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # Handlers first: a Ctrl-C while the window is generated stops the run before its first line, with a summary.
    with _stop_on_signals() as stop:
        wall_begin = clock()
        t0 = _start(start, minutes, speed, wall_begin)
        plan = _plan(rate, t0, t0 + 60.0 * minutes, specs, seed, profile)
        live = _Live(out, plan, 60.0 * rotate_minutes, rotate_mode)
        if notice is not None:
            notice(
                f"writing {len(plan.requests.lines)} requests stamped {_iso(plan.start)} to {_iso(plan.end)} into "
                f"{out} over {60.0 * minutes / speed:g} s (Ctrl-C stops)"
            )
        wall0 = clock()
        while not stop.requested:
            now = min(plan.end, plan.start + (clock() - wall0) * speed)
            live.advance(now)
            if now >= plan.end or stop.requested:
                break
            # Wake at the next whole simulated second: requests reach their file within a simulated second.
            due = min(math.floor(now) + 1.0, plan.end) - (plan.start + (clock() - wall0) * speed)
            sleep(min(max(due / speed, MIN_TICK_S), MAX_WAIT_S))
        return live.summary(
            out_dir=str(out),
            seed=seed,
            rate=rate,
            minutes=minutes,
            speed=speed,
            profile=profile,
            interrupted=stop.requested and live.now < plan.end,
            wall_seconds=round(clock() - wall_begin, 3),
        )


def parse_start(text: str) -> dt.datetime:
    """An ISO time (`Z` or an offset; none means UTC) as an aware UTC datetime."""
    try:
        t = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"--start {text!r}: expected an ISO time such as 2026-11-17T12:00:00Z") from None
    return (t if t.tzinfo else t.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _check(
    rate: float, minutes: float, speed: float, rotate_minutes: float, rotate_mode: str, profile: str = "flat"
) -> None:
    """InputError for arguments a run cannot use."""
    if not rate > 0 or not minutes > 0 or not speed > 0:
        raise InputError(f"--rate {rate:g}, --minutes {minutes:g}, --speed {speed:g}: each must be above 0")
    if profile not in PROFILES:
        raise InputError(f"profile {profile!r}: expected one of {', '.join(PROFILES)}")
    most = rate * minutes * 60 * (PEAK_OVER_MEAN if profile == "diurnal" else 1.0)
    if most > MAX_REQUESTS:
        raise InputError(
            f"--rate {rate:g} for --minutes {minutes:g} is up to {most:.0f} requests, more than the "
            f"{MAX_REQUESTS} a run generates: lower --rate or --minutes"
        )
    if not rotate_minutes >= 0:
        raise InputError(f"--rotate {rotate_minutes:g}: expected simulated minutes between rotations (0: never)")
    if rotate_mode not in ROTATE_MODES:
        raise InputError(f"--rotate-mode {rotate_mode!r}: expected one of {', '.join(ROTATE_MODES)}")


def _start(start: dt.datetime | None, minutes: float, speed: float, wall: float) -> float:
    """Epoch seconds of the first simulated instant: late enough that the last line is written at wall `now`, and
    never so late that a line would be stamped after the wall clock (the ingester quarantines future lines)."""
    latest = wall - 60.0 * minutes * max(0.0, 1.0 - 1.0 / speed)
    if start is None:
        return float(math.floor(latest))
    t = (start if start.tzinfo else start.replace(tzinfo=dt.UTC)).timestamp()
    if t > latest:
        raise InputError(
            f"--start {_iso(t)}: {minutes:g} simulated minutes at --speed {speed:g} would stamp lines up to "
            f"{_iso(t + 60 * minutes)}, after the wall clock reaches them; start at {_iso(latest)} or earlier"
        )
    return t


@contextmanager
def _stop_on_signals() -> Iterator[_Stop]:
    """SIGINT and SIGTERM set a flag for the duration (main thread only: elsewhere signals cannot be handled)."""
    stop = _Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    old = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, handler in old.items():
            if handler is not None:
                signal.signal(s, handler)


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat()


def _days(start: float, end: float) -> list[tuple[dt.date, float, float]]:
    """The UTC days the window [start, end) touches, each with its part of the window."""
    out = []
    t = start
    while t < end:
        day = dt.datetime.fromtimestamp(t, dt.UTC).date()
        nxt = (math.floor(t / DAY_S) + 1) * DAY_S
        out.append((day, t, min(end, float(nxt))))
        t = float(nxt)
    return out


def _plan(
    rate: float,
    start: float,
    end: float,
    specs: list[tuple[str, float, float | None]],
    seed: int,
    profile: str = "flat",
) -> _Plan:
    """Generate every line of the run, day by day like the batch simulator, and keep those inside the window."""
    incidents = plan_incidents(specs, start, end, seed, rate)
    per_day = max(1, round(rate * DAY_S))  # what calibrates the engines' KV capacity and the GPUs' load
    days = _days(start - WARMUP_S, end)
    rngs = [np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(seed).spawn(len(days))]
    chunks = [_requests(rng, a, b, rate, incidents, profile) for rng, (_, a, b) in zip(rngs, days, strict=True)]
    cols = {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
    order = np.argsort(cols["ts"], kind="stable")
    cols = {k: v[order] for k, v in cols.items()}
    first = int(np.searchsorted(cols["ts"], start))  # the first request written: the warm-up's are not
    cols["request_id"] = np.char.mod(f"req-{int(start)}-%07d", np.arange(len(order)) - first).astype(object)
    for day, _, _ in days:
        incidents, cols = _saturate(cols, day, incidents, per_day)
    lines, _ = request_lines(cols, np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 1]))))
    requests = _Stream("requests", ".jsonl", cols["ts"][first:], lines[first:])

    engines = Engines(seed, per_day)
    engines.days = 1  # the batch's scripted engine restart belongs to its first simulated day, not to a live run
    res_ts, res_lines, eng_ts, eng_lines = [], [], [], []
    for rng, (day, _, _) in zip(rngs, days, strict=True):
        midnight = dt.datetime.combine(day, dt.time(), dt.UTC).timestamp()
        inside = (cols["ts"] >= midnight) & (cols["ts"] < midnight + DAY_S)
        samples = simulate_resources(rng, day, cols["ts"][inside], incidents, per_day)
        keep = (samples["ts"] >= start) & (samples["ts"] <= end)
        res_ts.append(samples["ts"][keep])
        res_lines += resource_lines({k: v[keep] for k, v in samples.items()})
        ts, scraped = _scrapes(engines.day_text(day, {k: v[inside] for k, v in cols.items()}), midnight, start, end)
        eng_ts.append(ts)
        eng_lines += scraped
    others = [
        _Stream("resources", ".jsonl", np.concatenate(res_ts), res_lines),
        _Stream("engine", ".prom", np.concatenate(eng_ts), eng_lines, header=HEADER),
    ]
    return _Plan(start, end, requests, others, incidents)


def _scrapes(text: str, midnight: float, start: float, end: float) -> tuple[np.ndarray, list[str]]:
    """The scrapes of a day's engine text taken inside [start, end]: (each line's time, the lines)."""
    body = text.split("\n")[1:-1]  # the header, then SLOTS scrapes of equally many lines, then the final newline
    per = len(body) // SLOTS
    times = midnight + 60.0 * np.arange(SLOTS)
    slots = np.flatnonzero((times >= start) & (times <= end))
    if not len(slots):
        return np.zeros(0), []
    return np.repeat(times[slots], per), body[slots[0] * per : (slots[-1] + 1) * per]


def _requests(
    rng: np.random.Generator,
    t0: float,
    t1: float,
    rate: float,
    incidents: list[Incident],
    profile: str = "flat",
) -> dict[str, np.ndarray]:
    """Requests arriving in [t0, t1) (one UTC day's part): Poisson arrivals at `rate` a second, or at the diurnal
    profile's rate over an ordinary weekday's mean times `rate`, times a traffic spike's factor."""
    secs = t0 + np.arange(math.ceil(t1 - t0), dtype=float)
    width = np.minimum(1.0, t1 - secs)  # the last second may be cut short by the window
    load = np.ones(len(secs))
    shape = np.ones(len(secs))  # the arrival rate over `rate`
    if profile == "diurnal":
        midnight = math.floor(t0 / DAY_S) * DAY_S
        day = dt.date(1970, 1, 1) + dt.timedelta(days=midnight // DAY_S)
        cycle = rate_profile(day)
        at = cycle[np.clip((secs - midnight).astype(np.int64), 0, DAY_S - 1)]
        # As the batch: the rate over an ordinary weekday's mean sets the arrivals, the rate over the day's own mean
        # the load (latency and errors grow with it).
        shape, load = at / WEEKDAY_MEAN, at / float(cycle.mean())
    for inc in incidents:
        if inc.kind == "traffic_spike":
            hit = inc.covers(secs)
            load = np.where(hit, load * inc.details["factor"], load)
            shape = np.where(hit, shape * inc.details["factor"], shape)
    weight = shape * width
    n = int(rng.poisson(rate * weight.sum()))
    k = np.minimum(np.searchsorted(np.cumsum(weight) / weight.sum(), rng.random(n), side="right"), len(secs) - 1)
    return request_columns(rng, secs[k] + rng.random(n) * width[k], load[k], incidents, population(rate * 86400))


class _Live:
    """The writing side of a run: appends due lines, rotates the requests file, rewrites incidents.json."""

    def __init__(self, out: Path, plan: _Plan, rotate_s: float, rotate_mode: str) -> None:
        self.out, self.plan, self.mode = out, plan, rotate_mode
        self.rotate_s = rotate_s
        self.next_rotation = plan.start + rotate_s if rotate_s > 0 else math.inf
        self.rotations = 0
        self.lines: dict[str, int] = {}
        self.announced: tuple[int, int] | None = None
        self.now = plan.start

    def advance(self, now: float) -> None:
        """Write every line stamped up to `now`, rotating on the way, then announce the incidents begun by then."""
        while self.next_rotation <= now and self.next_rotation < self.plan.end:
            self._write(self.next_rotation, inclusive=False)  # the lines before the rotation go to the rotated file
            day = int(self.next_rotation // DAY_S)
            self.rotations += rotate(self.out / self.plan.requests.name(day), self.mode)
            self.next_rotation += self.rotate_s
        self._write(now, inclusive=True)
        self.now = now
        self._announce(now)

    def summary(self, **extra: Any) -> dict:
        """What was written: files and their lines, requests, incidents begun, rotations."""
        requests = sum(n for name, n in self.lines.items() if name.startswith("requests-"))
        begun = [i for i in self.plan.incidents if i.start.timestamp() <= self.now]
        return {
            **extra,
            "start": _iso(self.plan.start),
            "end": _iso(self.plan.end),
            "files": dict(self.lines),
            "requests": requests,
            "incidents": [{"id": i.id, "kind": i.kind, "start": i.start.isoformat()} for i in begun],
            "rotations": self.rotations,
        }

    def _write(self, t: float, inclusive: bool) -> None:
        for stream in (self.plan.requests, *self.plan.others):
            upto = int(np.searchsorted(stream.ts, t, side="right" if inclusive else "left"))
            while stream.done < upto:
                day = int(stream.day[stream.done])
                stop = min(upto, int(np.searchsorted(stream.day, day, side="right")))
                self._append(stream.name(day), stream.lines[stream.done : stop], stream.header)
                stream.done = stop

    def _append(self, name: str, lines: list[str], header: str | None) -> None:
        """Append whole lines in one write and flush: a reader never sees a line without its newline."""
        path = self.out / name
        if header is not None and not path.exists():
            lines = [header, *lines]
        with path.open("a", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))
            f.flush()
        self.lines[name] = self.lines.get(name, 0) + len(lines)

    def _announce(self, now: float) -> None:
        """Rewrite incidents.json (atomically) when an incident began or its KV cache filled since the last time."""
        begun = [i for i in self.plan.incidents if i.start.timestamp() <= now]
        # The saturation time is known up front; it is ground truth only once the simulated clock has passed it.
        shown = [as_of(i, now) for i in begun]
        state = (len(begun), sum(i.details.get("saturation_at") is not None for i in shown))
        if self.announced == state:
            return
        self.announced = state
        tmp = self.out / ".incidents.json.tmp"
        tmp.write_text(json.dumps([i.to_json() for i in shown], indent=1) + "\n")
        os.replace(tmp, self.out / "incidents.json")
