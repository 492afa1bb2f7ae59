"""The durable outbox: alerts are committed (with the key states and cursors) before anything is sent.

SQLite in WAL mode under the data dir (`alerts.db`): the sensor, the CLI and the demo may open it at once. An entry is
one message to one channel; its idempotency key is unique, so writing the same evaluation twice adds nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor_pipeline.alerts.model import Alert
from monitor_pipeline.alerts.policy import KeyState

STATUSES = ("pending", "sent", "dead")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    alert_key TEXT NOT NULL,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    last_error TEXT,
    response TEXT
);
CREATE INDEX IF NOT EXISTS outbox_status ON outbox (status, id);
CREATE TABLE IF NOT EXISTS alert_state (key TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass
class Entry:
    """One outbox row."""

    id: int
    idempotency_key: str
    alert_key: str
    channel: str
    kind: str
    severity: str
    alert: Alert
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    created_at: dt.datetime
    sent_at: dt.datetime | None
    last_error: str | None
    response: str | None

    def summary(self) -> dict[str, Any]:
        """A JSON-ready row for the CLI and Dagster metadata."""
        return {
            "id": self.id,
            "status": self.status,
            "key": self.alert_key,
            "kind": self.kind,
            "severity": self.severity,
            "channel": self.channel,
            "attempts": self.attempts,
            "at": self.alert.at.isoformat(),
            "next_attempt_at": self.next_attempt_at.isoformat(),
            "sent_at": self.sent_at and self.sent_at.isoformat(),
            "last_error": self.last_error,
            "title": self.alert.title,
        }


def _ts(v: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(v) if v else None


class Outbox:
    """The outbox, key states and cursors in one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @classmethod
    def in_data_dir(cls, data_dir: str | Path) -> Outbox:
        """The outbox of a data dir."""
        return cls(Path(data_dir) / "alerts.db")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=FULL")  # a commit survives power loss, not only a killed process
            con.executescript(_SCHEMA)
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        finally:
            con.close()

    def commit(
        self,
        alerts: Iterable[tuple[Alert, list[str]]],
        states: Iterable[KeyState],
        meta: dict[str, str],
        now: dt.datetime,
    ) -> int:
        """Atomically add the alerts (one entry per channel), save the key states and meta; return entries added."""
        with self._connect() as con:
            before = con.total_changes
            for alert, channels in alerts:
                for ch in channels:
                    con.execute(
                        "INSERT OR IGNORE INTO outbox (idempotency_key, alert_key, channel, kind, severity, payload, "
                        "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [
                            f"{alert.idempotency_key}:{ch}",
                            alert.key,
                            ch,
                            alert.kind,
                            alert.severity,
                            json.dumps(alert.to_json(), default=str),
                            now.isoformat(),
                            now.isoformat(),
                        ],
                    )
            added = con.total_changes - before
            con.executemany(
                "INSERT OR REPLACE INTO alert_state (key, state) VALUES (?, ?)",
                [(s.key, json.dumps(s.to_json(), default=str)) for s in states],
            )
            con.executemany("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", list(meta.items()))
            return added

    def states(self) -> dict[str, KeyState]:
        """Every key's state."""
        with self._connect() as con:
            return {k: KeyState.from_json(json.loads(v)) for k, v in con.execute("SELECT key, state FROM alert_state")}

    def meta(self, name: str, default: str | None = None) -> str | None:
        """A stored value (cursors, watermark, channel pauses)."""
        with self._connect() as con:
            row = con.execute("SELECT value FROM meta WHERE name = ?", [name]).fetchone()
        return row[0] if row else default

    def set_meta(self, values: dict[str, str | None]) -> None:
        """Store (or, for None, delete) values."""
        with self._connect() as con:
            for k, v in values.items():
                if v is None:
                    con.execute("DELETE FROM meta WHERE name = ?", [k])
                else:
                    con.execute("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", [k, v])

    def lease(self, owner: str, now: dt.datetime, ttl: dt.timedelta) -> bool:
        """Take the delivery lease (one deliverer at a time, so two processes never send the same entry)."""
        with self._connect() as con:
            row = con.execute("SELECT value FROM meta WHERE name = 'delivery_lease'").fetchone()
            if row:
                holder, until = row[0].split("|", 1)
                if holder != owner and dt.datetime.fromisoformat(until) > now:
                    return False
            con.execute(
                "INSERT OR REPLACE INTO meta (name, value) VALUES ('delivery_lease', ?)",
                [f"{owner}|{(now + ttl).isoformat()}"],
            )
            return True

    def release(self, owner: str) -> None:
        """Give the delivery lease back."""
        with self._connect() as con:
            con.execute("DELETE FROM meta WHERE name = 'delivery_lease' AND value LIKE ?", [f"{owner}|%"])

    def entries(self, status: str | None = None, limit: int = 1000) -> list[Entry]:
        """Entries, oldest first, optionally of one status."""
        where, args = ("WHERE status = ?", [status]) if status else ("", [])
        with self._connect() as con:
            rows = con.execute(
                f"SELECT id, idempotency_key, alert_key, channel, kind, severity, payload, status, attempts, "
                f"next_attempt_at, created_at, sent_at, last_error, response FROM outbox {where} "
                f"ORDER BY id LIMIT ?",
                [*args, limit],
            ).fetchall()
        return [
            Entry(
                id=r[0],
                idempotency_key=r[1],
                alert_key=r[2],
                channel=r[3],
                kind=r[4],
                severity=r[5],
                alert=Alert.from_json(json.loads(r[6])),
                status=r[7],
                attempts=r[8],
                next_attempt_at=dt.datetime.fromisoformat(r[9]),
                created_at=dt.datetime.fromisoformat(r[10]),
                sent_at=_ts(r[11]),
                last_error=r[12],
                response=r[13],
            )
            for r in rows
        ]

    def counts(self) -> dict[str, int]:
        """Entries per status."""
        with self._connect() as con:
            got = dict(con.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())
        return {s: got.get(s, 0) for s in STATUSES}

    def mark_sent(self, entry_id: int, response: str, now: dt.datetime) -> None:
        """Record a delivered entry with the receiver's response."""
        with self._connect() as con:
            con.execute(
                "UPDATE outbox SET status = 'sent', sent_at = ?, response = ?, attempts = attempts + 1, "
                "last_error = NULL WHERE id = ? AND status = 'pending'",
                [now.isoformat(), response[:2000], entry_id],
            )

    def mark_failed(self, entry_id: int, error: str, retry_at: dt.datetime | None) -> None:
        """Record a failed send: retried at `retry_at`, or dead-letter when None."""
        with self._connect() as con:
            if retry_at is None:
                con.execute(
                    "UPDATE outbox SET status = 'dead', attempts = attempts + 1, last_error = ? WHERE id = ?",
                    [error[:2000], entry_id],
                )
            else:
                con.execute(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?",
                    [error[:2000], retry_at.isoformat(), entry_id],
                )

    def requeue_dead(self, now: dt.datetime) -> int:
        """Put dead-letter entries back to pending (after fixing the channel); returns how many."""
        with self._connect() as con:
            cur = con.execute(
                "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ? WHERE status = 'dead'",
                [now.isoformat()],
            )
            return cur.rowcount
