"""Measurements for bench/live.py: the CPU of a process tree, the Slack stub's messages, their attribution to the
injected incidents, and the live micro-batches' run records."""

from __future__ import annotations

import datetime as dt
import html
import json
import sqlite3
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor_pipeline.evaluation.incidents import names_series

# Roles of the processes under `dagster dev`, by their command line (first match wins).
ROLES = (
    ("webserver", ("dagster-webserver", "dagster_webserver")),
    ("daemon", ("dagster-daemon", "dagster._daemon", "dagster_daemon")),
    ("code_server", ("api grpc", "code-server", "code_server")),
    ("run_worker", ("spawn_main", "execute_run", "api execute")),
    ("dev", (" dev ", "dagster dev")),
)
FOLLOW_UPS = ("renotify", "escalated", "flapping", "resolved")  # messages about an alert that already fired


def role_of(cmdline: list[str]) -> str:
    """The role of a process under `dagster dev`, from its command line."""
    text = " " + " ".join(cmdline) + " "
    for role, marks in ROLES:
        if any(m in text for m in marks):
            return role
    return "other"


@dataclass
class _Proc:
    role: str
    own: float  # CPU seconds (user + system) at the last sample
    last_seen: float


@dataclass
class TreeCPU:
    """CPU seconds (user + system) of a process and every descendant, sampled every `interval_s` by a thread.

    The total at a sample is, over the processes alive then, their own CPU plus what they reaped from children that
    ended (`children_user` + `children_system`: a run worker's CPU moves into the code server's when it is waited
    for), so short-lived processes count in full once reaped, and nothing counts twice. Per role, the CPU each process
    used while seen (a short-lived process's last up to `interval_s` of CPU is missed there, not in the total).
    """

    pid: int
    interval_s: float = 0.5
    procs: dict[tuple[int, float], _Proc] = field(default_factory=dict)
    total: float = 0.0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def sample(self) -> float:
        """Take one sample now; return the tree's total CPU seconds."""
        import psutil

        now = time.time()
        try:
            root = psutil.Process(self.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            return self.total  # the root ended: keep the last total
        total = 0.0
        with self._lock:
            for p in tree:
                try:
                    with p.oneshot():
                        t = p.cpu_times()
                        key = (p.pid, p.create_time())
                        cmd = p.cmdline() if key not in self.procs else []
                except psutil.Error:
                    continue
                own = t.user + t.system
                total += own + t.children_user + t.children_system
                if key in self.procs:
                    rec = self.procs[key]
                    rec.own, rec.last_seen = own, now
                else:
                    self.procs[key] = _Proc(role_of(cmd), own, now)
            self.total = total
            self.samples += 1
        return total

    def start(self) -> TreeCPU:
        """Sample in a background thread until `stop()`."""

        def loop() -> None:
            while not self._stop.wait(self.interval_s):
                self.sample()

        self.sample()
        self._thread = threading.Thread(target=loop, name="tree-cpu", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def snapshot(self) -> dict[str, Any]:
        """A sample now, with each process's CPU so far (to subtract a later snapshot from)."""
        self.sample()
        with self._lock:
            return {
                "at": time.time(),
                "total": self.total,
                "own": {k: (v.role, v.own) for k, v in self.procs.items()},
            }

    def between(self, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        """CPU used between snapshots `a` and `b`: the total, its share of one core, and per role."""
        wall = b["at"] - a["at"]
        cpu = b["total"] - a["total"]
        roles: dict[str, float] = {}
        started: dict[str, int] = {}
        for key, (role, own_b) in b["own"].items():
            if key not in a["own"]:  # started after `a`: all of its CPU is the interval's
                started[role] = started.get(role, 0) + 1
            roles[role] = roles.get(role, 0.0) + max(0.0, own_b - a["own"].get(key, (role, 0.0))[1])
        return {
            "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1),
            "share_of_one_core": round(cpu / wall, 4) if wall > 0 else None,
            "by_role_cpu_s": {k: round(v, 1) for k, v in sorted(roles.items())},
            "processes_started": started,
            "samples": self.samples,
        }


# --- Slack messages ---


def parse_message(body: dict, at: float) -> dict[str, Any]:
    """The fields of one Block Kit message the alert sensors sent: key (rule:entity), kind, severity, window, text."""
    fields: dict[str, str] = {}
    for block in body.get("blocks") or []:
        for f in block.get("fields") or []:
            name, _, value = str(f.get("text", "")).partition("\n")
            fields[name.strip("*")] = html.unescape(value)
    key = fields.get("Key", "").strip("`")
    rule, _, entity = key.partition(":")
    window = [w.strip() for w in fields.get("Window", "").split("→")] if fields.get("Window") else []

    def when(s: str) -> float | None:
        try:
            return dt.datetime.fromisoformat(s).timestamp() if s else None
        except ValueError:
            return None

    text = html.unescape(str(body.get("text", "")))
    return {
        "at": at,
        "key": key,
        "rule": rule,
        "entity": entity,
        "members": moved_with(text),
        "kind": fields.get("State", ""),
        "severity": fields.get("Severity", ""),
        "window_start": when(window[0]) if window else None,
        "window_end": when(window[1]) if len(window) > 1 else None,
        "text": text,
    }


def moved_with(text: str) -> list[str]:
    """The series an anomaly message names as having moved with its lead (`...; moved with it: a, b and 2 more`)."""
    _, found, rest = text.partition("moved with it: ")
    if not found:
        return []
    rest = rest.split(" and ")[0]
    return [s.strip() for s in rest.split(", ") if s.strip()]


def findings(db: Path) -> list[dict[str, Any]]:
    """The live loop's findings (<data_dir>/findings.db), in the form `parse_message` gives, with `at` the time each
    was first stored and `members` the series of a correlated anomaly event (which Slack does not show)."""
    if not db.exists():
        return []
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT source, rule, entity, severity, title, window_start, window_end, detail, created_at FROM findings"
        ).fetchall()
    finally:
        con.close()
    out = []
    for source, rule, entity, severity, title, ws, we, detail, created in rows:
        members = json.loads(detail or "{}").get("series") or []
        out.append(
            {
                "at": dt.datetime.fromisoformat(created).timestamp(),
                "key": f"{rule}:{entity}",
                "rule": rule,
                "entity": entity,
                "members": [m for m in members if m != entity],
                "kind": "firing",
                "severity": severity,
                "window_start": dt.datetime.fromisoformat(ws).timestamp() if ws else None,
                "window_end": dt.datetime.fromisoformat(we).timestamp() if we else None,
                "text": f"{source}: {title}",
            }
        )
    return sorted(out, key=lambda m: m["at"])


def names(message: dict[str, Any], incident: dict[str, Any]) -> bool:
    """Whether the message's alert (or a finding: its lead series or the members of its correlated event) is about
    one of the incident's affected series or entities (as monitor_pipeline.evaluation.incidents matches alerts: the
    entity is the series key, or a security finding's user or client IP)."""
    details = incident.get("details") or {}
    for affected in incident.get("affected") or []:
        # A capacity finding's key (`resource.time_to_threshold:host:device:gpu_memory`) names a series in its own words.
        if message.get("key") and names_series(message["key"], affected):
            return True
    for entity in (message["entity"], *message.get("members", ())):
        for affected in incident.get("affected") or []:
            if entity == affected:
                return True
            if affected.startswith("security.") and affected.split("=")[-1].rstrip("}") == entity:
                return True
        if incident["kind"] == "abusive_user" and entity in (details.get("user_id"), details.get("client_ip")):
            return True
    return False


def attribute(
    messages: list[dict[str, Any]], incidents: list[dict[str, Any]], grace_s: float = 900.0, every: bool = False
) -> dict:
    """Each message to the incident it is about, else a false alert.

    A message is about an incident when it names one of the incident's affected series or entities, arrived after
    the onset, and its data window (when it has one; Slack shows it to the minute) ends after the onset and starts
    before the incident's end plus `grace_s`; of several such incidents, the one that began last (the newest change
    explains a new alert). A follow-up (still firing, escalated, flapping, resolved) of a key already attributed is
    that incident's; anything else is a false alert. With `every`, a message goes to every incident it is about (a
    finding of a correlated event is a detection of each incident among its members). `incidents` carry `onset_wall`
    (the wall time their first line was written) besides the simulator's fields.
    """
    per: dict[str, list[dict]] = {i["id"]: [] for i in incidents}
    false: list[dict] = []
    owner: dict[str, str] = {}  # alert key -> incident id
    for m in sorted(messages, key=lambda m: m["at"]):
        found = []
        for inc in incidents:
            start = dt.datetime.fromisoformat(inc["start"]).timestamp()
            end = dt.datetime.fromisoformat(inc["end"]).timestamp()
            if not names(m, inc) or m["at"] < inc["onset_wall"]:
                continue
            if m["window_end"] is not None and m["window_end"] + 60 <= start:  # shown to the minute, cut down
                continue
            if m["window_start"] is not None and m["window_start"] >= end + grace_s:
                continue
            found.append(inc)
        if found:
            for inc in found if every else [max(found, key=lambda i: i["start"])]:
                per[inc["id"]].append(m)
                owner.setdefault(m["key"], inc["id"])
        elif m["kind"] in FOLLOW_UPS and m["key"] in owner:
            per[owner[m["key"]]].append(m)
        else:
            false.append(m)
    return {"per_incident": per, "false": false}


def latencies(per_incident: dict[str, list[dict]], incidents: list[dict[str, Any]]) -> dict[str, float | None]:
    """Seconds from each incident's onset (wall time) to its first attributed message; None when none came."""
    out: dict[str, float | None] = {}
    for inc in incidents:
        msgs = per_incident.get(inc["id"]) or []
        out[inc["id"]] = round(min(m["at"] for m in msgs) - inc["onset_wall"], 1) if msgs else None
    return out


def summary_stats(latency: dict[str, float | None]) -> tuple[float | None, float | None]:
    """(median, worst) seconds over the incidents, a missed one counting as never: None when it decides."""
    values = sorted(float("inf") if v is None else v for v in latency.values())
    if not values:
        return None, None
    med = statistics.median(values)
    worst = values[-1]
    return (None if med == float("inf") else round(med, 1)), (None if worst == float("inf") else round(worst, 1))


# --- run records ---


def micro_batches(records: list[Any], since: float, until: float) -> dict[str, Any]:
    """The live_job runs that started in [since, until]: count, durations, queue waits, failures, overlaps.

    `records` are Dagster RunRecords (start_time/end_time in epoch seconds, create_timestamp a datetime)."""
    runs = []
    for r in records:
        start, end = r.start_time, r.end_time
        created = r.create_timestamp.timestamp()
        if start is None or not since <= start <= until:
            continue
        runs.append(
            {
                "run_id": r.dagster_run.run_id[:8],
                "status": r.dagster_run.status.value,
                "created": created,
                "start": start,
                "end": end,
                "seconds": None if end is None else round(end - start, 2),
                "queued_s": round(start - created, 2),
            }
        )
    runs.sort(key=lambda r: r["start"])
    overlaps = [
        (a["run_id"], b["run_id"])
        for a, b in zip(runs, runs[1:], strict=False)
        if a["end"] is None or b["start"] < a["end"]
    ]
    secs = [r["seconds"] for r in runs if r["seconds"] is not None]
    gaps = [b["start"] - a["start"] for a, b in zip(runs, runs[1:], strict=False)]
    return {
        "count": len(runs),
        "failed": [r["run_id"] for r in runs if r["status"] not in ("SUCCESS", "STARTED")],
        "seconds": _spread(secs),
        "queued_s": _spread([r["queued_s"] for r in runs]),
        "between_starts_s": _spread(gaps),
        "overlapping": overlaps,
    }


def _spread(xs: list[float]) -> dict[str, float] | None:
    if not xs:
        return None
    xs = sorted(xs)
    return {
        "mean": round(sum(xs) / len(xs), 2),
        "p50": round(statistics.median(xs), 2),
        "max": round(xs[-1], 2),
        "min": round(xs[0], 2),
    }


def wait_until(check: Callable[[], bool], timeout_s: float, every_s: float = 1.0) -> bool:
    """Poll `check` until it is true or `timeout_s` passed."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every_s)
    return check()
