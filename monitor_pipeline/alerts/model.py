"""The alert model: what was observed, and the messages (firing, reminder, flapping, resolved) sent about it."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from monitor_pipeline.alerts.numbers import NONE, Unit, number, unit_of

Severity = Literal["info", "warning", "critical"]
Kind = Literal["firing", "renotify", "escalated", "flapping", "resolved"]


@dataclass
class Observation:
    """One evaluation of a key: a finding row (always bad), a check evaluation (bad or good), a run failure, no data."""

    rule: str
    entity: str
    severity: Severity
    bad: bool
    at: dt.datetime  # event time: the window or partition it is about (capped at now), else when it was seen
    title: str
    source: str = ""
    value: float | None = None
    threshold: float | None = None
    expected: float | None = None
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    dagster_run_id: str | None = None
    dagster_run_url: str | None = None
    mlflow_run_url: str | None = None
    wall_clock: bool = False  # `at` is when it was seen (run failures, probes, no data), not the time of the data

    @property
    def key(self) -> str:
        """The stable alert key: rule + entity."""
        return f"{self.rule}:{self.entity}"


@dataclass
class Alert:
    """One message about a key; `idempotency_key` makes writing it to the outbox twice a no-op."""

    key: str
    kind: Kind
    rule: str
    entity: str
    severity: Severity
    state: Literal["firing", "resolved", "flapping"]
    title: str
    at: dt.datetime
    value: float | None = None
    threshold: float | None = None
    expected: float | None = None
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None
    since: dt.datetime | None = None
    source: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    dagster_run_id: str | None = None
    dagster_run_url: str | None = None
    mlflow_run_url: str | None = None

    @property
    def idempotency_key(self) -> str:
        """Same key, kind and event time -> same id, however often the evaluation is repeated."""
        return hashlib.sha1(f"{self.key}|{self.kind}|{self.at.isoformat()}".encode()).hexdigest()[:24]

    def unit(self) -> Unit:
        """The unit of value/threshold/expected: `detail.unit`, else read from the metric in the key."""
        if self.rule.startswith("security") and "unit" not in self.detail:
            return NONE  # security keys end in a user id or IP: data, not a metric name
        return unit_of(self.key, self.detail.get("unit"))

    def number(self, value: float | None) -> str:
        """One of this alert's values as a person reads it (`28,190 ms`, `13.6 %`)."""
        return number(value, self.unit())

    def body(self) -> str:
        """One paragraph: what, the value against its threshold/expectation, the window."""
        parts = []
        if self.value is not None:
            parts.append(f"value {self.number(self.value)}")
        if self.threshold is not None:
            parts.append(f"threshold {self.number(self.threshold)}")
        if self.expected is not None:
            parts.append(f"expected {self.number(self.expected)}")
        if self.window_start or self.window_end:
            parts.append(f"window {_t(self.window_start)} → {_t(self.window_end)}")
        lead = {
            "firing": "Firing",
            "renotify": "Still firing",
            "escalated": "Escalated",
            "flapping": "Flapping",
            "resolved": "Resolved",
        }[self.kind]
        since = f" (firing since {_t(self.since)})" if self.since and self.kind != "firing" else ""
        return f"{lead}{since}: {self.title}" + (f" ({', '.join(parts)})" if parts else "")

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (ISO times)."""
        d = asdict(self)
        for k in ("at", "window_start", "window_end", "since"):
            d[k] = _t(d[k]) or None
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Alert:
        """Inverse of `to_json`."""
        d = dict(d)
        for k in ("at", "window_start", "window_end", "since"):
            d[k] = dt.datetime.fromisoformat(d[k]) if d.get(k) else None
        return cls(**d)


def _t(t: dt.datetime | None) -> str:
    return "" if t is None else t.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
