"""The state machine of one alert key: fire (after N bad), hysteresis, cooldown, re-notify, flapping, one resolved."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from monitor_pipeline.alerts.config import SEVERITY_RANK, Resolved
from monitor_pipeline.alerts.model import Alert, Kind, Observation

_SNAPSHOT = (
    "title",
    "source",
    "value",
    "threshold",
    "expected",
    "window_start",
    "window_end",
    "detail",
    "dagster_run_id",
    "dagster_run_url",
    "mlflow_run_url",
)


@dataclass
class KeyState:
    """What is remembered about one key between evaluations (stored as JSON next to the outbox)."""

    key: str
    rule: str
    entity: str
    status: str = "ok"  # the underlying condition: ok | firing
    flapping: bool = False
    notified: bool = False  # a firing (or flapping) message went out and its `resolved` is owed
    severity: str = "info"
    since: dt.datetime | None = None
    last_at: dt.datetime | None = None
    last_bad: dt.datetime | None = None
    last_notified: dt.datetime | None = None
    bad_streak: int = 0
    good_streak: int = 0
    changes: list[dt.datetime] = field(default_factory=list)
    last: dict[str, Any] = field(default_factory=dict)
    wall_clock: bool = False  # its observations are timed by the wall clock, not by the data they are about

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        d = asdict(self)
        for k in ("since", "last_at", "last_bad", "last_notified"):
            d[k] = d[k].isoformat() if d[k] else None
        d["changes"] = [c.isoformat() for c in self.changes]
        d["last"] = {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in self.last.items()}
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> KeyState:
        """Inverse of `to_json`."""
        d = dict(d)
        for k in ("since", "last_at", "last_bad", "last_notified"):
            d[k] = dt.datetime.fromisoformat(d[k]) if d[k] else None
        d["changes"] = [dt.datetime.fromisoformat(c) for c in d["changes"]]
        d["last"] = {
            k: (dt.datetime.fromisoformat(v) if k.startswith("window_") and v else v) for k, v in d["last"].items()
        }
        return cls(**d)


def _is_bad(state: KeyState, obs: Observation, pol: Resolved) -> bool:
    """The producer's verdict, or the value against fire/resolve thresholds (between them the state holds)."""
    if pol.fire_threshold is None or obs.value is None:
        return obs.bad
    sign = 1 if pol.direction == "above" else -1
    if state.status == "firing":
        resolve = pol.fire_threshold if pol.resolve_threshold is None else pol.resolve_threshold
        return sign * obs.value > sign * resolve
    return sign * obs.value >= sign * pol.fire_threshold


def _message(state: KeyState, kind: Kind, at: dt.datetime) -> Alert:
    snap = {k: state.last.get(k) for k in _SNAPSHOT}
    snap["detail"] = snap["detail"] or {}
    snap["title"] = snap["title"] or state.key
    st = {"resolved": "resolved", "flapping": "flapping"}.get(kind, "firing")
    return Alert(
        key=state.key,
        kind=kind,
        rule=state.rule,
        entity=state.entity,
        severity=state.severity,  # type: ignore[arg-type]
        state=st,  # type: ignore[arg-type]
        at=at,
        since=state.since,
        **snap,  # type: ignore[arg-type]
    )


def _notify(state: KeyState, kind: Kind, at: dt.datetime, pol: Resolved) -> list[Alert]:
    state.last_notified = at
    return [] if pol.mute else [_message(state, kind, at)]


def _changed(state: KeyState, at: dt.datetime, pol: Resolved) -> list[Alert]:
    """A firing<->ok change: counted for flap detection, then notified unless flapping or in cooldown."""
    state.changes = [c for c in state.changes if at - c < pol.flap.period] + [at]
    if state.flapping:
        return []
    if len(state.changes) >= pol.flap.changes:
        state.flapping, state.notified = True, True
        return _notify(state, "flapping", at, pol)
    if state.status == "firing":
        if state.last_notified is None or at - state.last_notified >= pol.cooldown:
            state.notified = True
            return _notify(state, "firing", at, pol)
        return []  # held back by the cooldown; sent by a later bad observation once it has passed
    if state.notified and pol.notify_resolved:
        state.notified = False
        return _notify(state, "resolved", at, pol)
    state.notified = False
    return []


def sweep(state: KeyState, now: dt.datetime, pol: Resolved) -> list[Alert]:
    """Time-driven changes up to `now`: resolution after `resolve_quiet` without bad news; the end of flapping."""
    out: list[Alert] = []
    if pol.resolve_quiet is not None and state.last_bad is not None and now - state.last_bad >= pol.resolve_quiet:
        if state.status == "firing":
            state.status, state.bad_streak = "ok", 0
            out += _changed(state, state.last_bad + pol.resolve_quiet, pol)
        state.bad_streak = 0
    if state.flapping and state.changes and now - state.changes[-1] >= pol.flap.period:
        state.flapping = False
        at = state.changes[-1] + pol.flap.period
        if state.status == "firing":
            state.notified = True
            out += _notify(state, "firing", at, pol)
        elif state.notified:
            state.notified = False
            out += _notify(state, "resolved", at, pol) if pol.notify_resolved else []
    return out


def apply(state: KeyState, obs: Observation, pol: Resolved) -> list[Alert]:
    """Feed one observation to a key's state; return the messages to send (often none)."""
    at = max(obs.at, state.last_at) if state.last_at else obs.at
    out = sweep(state, at, pol)
    state.last_at, state.wall_clock = at, obs.wall_clock
    if not _is_bad(state, obs, pol):
        state.good_streak += 1
        if state.status != "firing":
            state.bad_streak = 0
        elif state.good_streak >= pol.resolve_after:
            state.status = "ok"
            out += _changed(state, at, pol)
        return out
    state.good_streak, state.last_bad = 0, at
    state.bad_streak += 1
    state.last = {k: getattr(obs, k) for k in _SNAPSHOT}
    if state.status != "firing":
        if state.bad_streak >= pol.fire_after:
            state.status, state.since, state.severity = "firing", at, obs.severity
            out += _changed(state, at, pol)
        return out
    if state.flapping:
        return out
    if SEVERITY_RANK[obs.severity] > SEVERITY_RANK[state.severity]:
        state.severity = obs.severity
        if state.notified:
            return out + _notify(state, "escalated", at, pol)
    if not state.notified:
        if state.last_notified is None or at - state.last_notified >= pol.cooldown:
            state.notified = True
            out += _notify(state, "firing", at, pol)
    elif pol.renotify > dt.timedelta(0) and state.last_notified and at - state.last_notified >= pol.renotify:
        out += _notify(state, "renotify", at, pol)
    return out
