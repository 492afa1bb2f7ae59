"""Waiting for the DuckDB warehouse lock: bounded exponential backoff with jitter, then one EngineError that says why.

DuckDB lets one process at a time hold a database file with a write lock, and a read-only connection in another
process blocks writers too. A second run, a notebook or `monitor-pipeline scan` on the same file make `connect`
raise `IOException: Could not set lock on file ... Conflicting lock is held in <process> (PID n)`: we wait for the
holder to let go, up to a bound (`duckdb.lock_timeout_s`), logging each wait.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import duckdb

from monitor_pipeline.errors import EngineError

DEFAULT_LOCK_TIMEOUT_S = 120.0
FIRST_WAIT_S = 0.25
MAX_WAIT_S = 10.0
_LOCKED = "Could not set lock on file"
_HOLDER = re.compile(
    r'Could not set lock on file "(?P<file>[^"]*)": Conflicting lock is held in (?P<process>.*?) '
    r"\(PID (?P<pid>\d+)\)"
)
T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LockHolder:
    """Who holds the lock on a DuckDB file, as DuckDB's error names it (process and PID may be unknown)."""

    file: str
    process: str | None = None
    pid: int | None = None

    def describe(self) -> str:
        """`<process> (PID n)`, or what is known of it."""
        if self.pid is None:
            return "another process"
        return f"{self.process or 'a process'} (PID {self.pid})"


def lock_holder(exc: BaseException, db_path: str | Path) -> LockHolder | None:
    """The holder named in DuckDB's lock-conflict error, or None when `exc` is not a lock conflict."""
    msg = str(exc)
    if not isinstance(exc, duckdb.IOException) or _LOCKED not in msg:
        return None
    m = _HOLDER.search(msg)
    if m is None:
        return LockHolder(str(db_path))
    return LockHolder(m["file"], m["process"].strip() or None, int(m["pid"]))


def backoff_waits(
    first_s: float = FIRST_WAIT_S, cap_s: float = MAX_WAIT_S, rng: Callable[[], float] = random.random
) -> Iterator[float]:
    """Endless waits: the n-th drawn uniformly from [b/2, b] with b = min(cap_s, first_s * 2**n) ("equal jitter").

    The jitter keeps two waiting runs from retrying in lock-step; the cap keeps a released lock from going unnoticed
    for long.
    """
    n = 0
    while True:
        b = min(cap_s, first_s * 2**n)
        yield b / 2 + rng() * b / 2
        n += 1


def locked_message(holder: LockHolder, waited_s: float, timeout_s: float) -> str:
    """One line: the file, who holds it, how long we waited, what to do."""
    who = holder.describe()
    ps = f"`ps -o pid,args -p {holder.pid}` shows it; " if holder.pid is not None else ""
    return (
        f"the DuckDB warehouse {holder.file} is locked by {who}; gave up after waiting {waited_s:.1f} s "
        f"(duckdb.lock_timeout_s: {timeout_s:g}). DuckDB lets one process use the file at a time, and a read-only "
        f"connection in a notebook blocks writers too: {ps}close that connection or let that run finish, "
        f"or raise duckdb.lock_timeout_s"
    )


def open_waiting_for_lock(
    open_db: Callable[[], T],
    db_path: str | Path,
    timeout_s: float | None = None,
    logger: logging.Logger | logging.LoggerAdapter | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    waits: Iterator[float] | None = None,
) -> T:
    """`open_db()`, retried with backoff while another process holds the file's lock, up to `timeout_s` in all
    (default DEFAULT_LOCK_TIMEOUT_S). Any other error is raised as is; a lock still held at the bound raises
    EngineError (`locked_message`).
    """
    timeout_s = DEFAULT_LOCK_TIMEOUT_S if timeout_s is None else timeout_s
    logger = logger or log
    waits = waits or backoff_waits()
    start = clock()
    attempt = 0
    while True:
        attempt += 1
        try:
            return open_db()
        except duckdb.IOException as exc:
            holder = lock_holder(exc, db_path)
            if holder is None:
                raise
        waited = clock() - start
        left = timeout_s - waited
        if left <= 0:
            raise EngineError(locked_message(holder, waited, timeout_s)) from None
        pause = min(next(waits), left)
        logger.warning(
            f"the DuckDB warehouse {holder.file} is locked by {holder.describe()}; attempt {attempt} "
            f"failed, retrying in {pause:.1f} s ({waited:.0f} of {timeout_s:g} s waited, "
            f"duckdb.lock_timeout_s)"
        )
        sleep(pause)
