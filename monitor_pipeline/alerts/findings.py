"""Findings: the alert-worthy rows that assets emit (anomalies, time-to-threshold, security, scalability regressions).

Producers write them to a SQLite file under the data dir (`findings.db`), not the DuckDB warehouse: the alert sensor
runs in Dagster's daemon while runs write, and SQLite in WAL mode lets one reader and one writer work at once.
A producer replaces its own rows of a partition (re-runs never duplicate); a row that stays the same keeps its `seq`,
so the sensor, which reads rows with `seq` above its cursor, sees only findings that are new or changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS findings (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    finding_id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    partition TEXT,
    rule TEXT NOT NULL,
    entity TEXT NOT NULL,
    severity TEXT NOT NULL,
    title TEXT NOT NULL,
    value REAL,
    threshold REAL,
    expected REAL,
    window_start TEXT,
    window_end TEXT,
    detail TEXT NOT NULL,
    dagster_run_id TEXT,
    mlflow_run_url TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS findings_source_partition ON findings (source, partition);
"""


@dataclass
class Finding:
    """One alert-worthy observation; `key` (rule + entity) is what an alert is deduplicated and resolved by."""

    source: str  # the producing asset, e.g. "anomalies", "security_findings", "resource_forecast"
    rule: str  # e.g. "anomaly.requests.count", "security.rate_limit", "resource.time_to_threshold"
    entity: str  # what it is about: a series key, a user id, host/device, a model
    severity: Severity
    title: str
    value: float | None = None
    threshold: float | None = None
    expected: float | None = None
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None
    partition: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)  # JSON-able; producers redact before they put text here
    dagster_run_id: str | None = None
    mlflow_run_url: str | None = None
    seq: int | None = None  # set when read back from the store

    @property
    def key(self) -> str:
        """The alert key: one alert per rule and entity, however many windows or requests it spans."""
        return f"{self.rule}:{self.entity}"

    def finding_id(self) -> str:
        """Stable identity of this observation (same rule, entity, window and values → same id)."""
        ident = json.dumps(
            [
                self.source,
                self.partition,
                self.rule,
                self.entity,
                self.severity,
                _iso(self.window_start),
                _iso(self.window_end),
                self.value,
            ],
            default=str,
        )
        return hashlib.sha1(ident.encode()).hexdigest()[:20]


def _iso(t: dt.datetime | None) -> str | None:
    return None if t is None else (t if t.tzinfo else t.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).isoformat()


def _parse(t: str | None) -> dt.datetime | None:
    return None if t is None else dt.datetime.fromisoformat(t)


_COLUMNS = (
    "seq, source, partition, rule, entity, severity, title, value, threshold, expected, window_start, window_end, "
    "detail, dagster_run_id, mlflow_run_url"
)


class FindingStore:
    """The findings table in `<data_dir>/findings.db`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @classmethod
    def in_data_dir(cls, data_dir: str | Path) -> FindingStore:
        """The store of a data dir."""
        return cls(Path(data_dir) / "findings.db")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=30)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)
            yield con
            con.commit()
        finally:
            con.close()

    def replace(self, source: str, partition: str | None, findings: Iterable[Finding]) -> int:
        """Make `findings` the rows of (source, partition): unchanged rows keep their seq; returns the new rows' count."""
        rows = list(findings)
        now = dt.datetime.now(dt.UTC).isoformat()
        with self._connect() as con:
            ids = [f.finding_id() for f in rows]
            where, args = ("partition IS ?", [partition]) if partition is None else ("partition = ?", [partition])
            keep = ",".join("?" for _ in ids) or "''"
            con.execute(
                f"DELETE FROM findings WHERE source = ? AND {where} AND finding_id NOT IN ({keep})",
                [source, *args, *ids],
            )
            before = con.total_changes
            con.executemany(
                "INSERT OR IGNORE INTO findings (finding_id, source, partition, rule, entity, severity, title, value, "
                "threshold, expected, window_start, window_end, detail, dagster_run_id, mlflow_run_url, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        fid,
                        source,
                        partition,
                        f.rule,
                        f.entity,
                        f.severity,
                        f.title,
                        f.value,
                        f.threshold,
                        f.expected,
                        _iso(f.window_start),
                        _iso(f.window_end),
                        json.dumps(f.detail, default=str),
                        f.dagster_run_id,
                        f.mlflow_run_url,
                        now,
                    )
                    for fid, f in zip(ids, rows, strict=True)
                ],
            )
            return con.total_changes - before

    def add(self, source: str, partition: str | None, findings: Iterable[Finding]) -> int:
        """Add `findings` to (source, partition) keeping its other rows (a live scan sees part of the day); returns
        the new rows' count (a finding already stored is not added again)."""
        rows = list(findings)
        return self.replace(source, partition, [*self.of(source, partition), *rows]) if rows else 0

    def since(self, seq: int = 0, limit: int = 10_000) -> list[Finding]:
        """Findings with seq above `seq`, oldest first."""
        return self._select("seq > ?", [seq], limit)

    def of(self, source: str, partition: str | None = None) -> list[Finding]:
        """The current findings of one source (and partition, when given)."""
        if partition is None:
            return self._select("source = ?", [source])
        return self._select("source = ? AND partition = ?", [source, partition])

    def _select(self, where: str, args: list, limit: int = -1) -> list[Finding]:
        if not self.path.exists():
            return []
        with self._connect() as con:
            cur = con.execute(f"SELECT {_COLUMNS} FROM findings WHERE {where} ORDER BY seq LIMIT ?", [*args, limit])
            return [
                Finding(
                    source=r[1],
                    partition=r[2],
                    rule=r[3],
                    entity=r[4],
                    severity=r[5],
                    title=r[6],
                    value=r[7],
                    threshold=r[8],
                    expected=r[9],
                    window_start=_parse(r[10]),
                    window_end=_parse(r[11]),
                    detail=json.loads(r[12]),
                    dagster_run_id=r[13],
                    mlflow_run_url=r[14],
                    seq=r[0],
                )
                for r in cur.fetchall()
            ]


def as_records(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    """Findings as plain dicts (for Dagster metadata and MLflow tables)."""
    return [
        {**asdict(f), "key": f.key, "window_start": _iso(f.window_start), "window_end": _iso(f.window_end)}
        for f in findings
    ]
