"""A warehouse held by another process: connect() waits with bounded backoff, then names the holder and what to do."""

from __future__ import annotations

import logging
import time
from contextlib import ExitStack
from pathlib import Path

import duckdb
import pytest
from duckdb_lock import holding

from monitor_pipeline.errors import EngineError
from monitor_pipeline.ingest.engines.duckdb_connect import connect
from monitor_pipeline.warehouse.lock import backoff_waits, lock_holder, open_waiting_for_lock


@pytest.fixture
def hold():
    """Start processes that hold the file (see duckdb_lock.holding); all killed after the test."""
    with ExitStack() as stack:
        yield lambda db, hold_s, read_only=False: stack.enter_context(holding(db, hold_s, read_only))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "warehouse.duckdb"
    connect(path).close()  # tables created, so a read-only holder can open it
    return path


def test_connect_waits_while_another_process_holds_the_file_then_opens_it(db, hold, caplog):
    holder = hold(db, hold_s=1.5)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        con = connect(db, lock_timeout_s=30)
    waited = time.monotonic() - started
    assert con.execute("SELECT count(*) FROM requests").fetchone() == (0,)
    con.close()
    assert 1.0 < waited < 25, waited  # it waited for the holder; the upper bound only catches a runaway
    assert holder.poll() is None  # released by closing its connection; the process lives on
    waits = [r.getMessage() for r in caplog.records if "is locked by" in r.getMessage()]
    assert waits, "each wait is logged"
    assert f"(PID {holder.pid})" in waits[0] and str(db) in waits[0] and "retrying in" in waits[0]


def test_a_holder_that_never_lets_go_gives_one_clear_line_within_the_bound(db, hold):
    holder = hold(db, hold_s=120)
    started = time.monotonic()
    with pytest.raises(EngineError) as err:
        connect(db, lock_timeout_s=1.5)
    took = time.monotonic() - started
    msg = str(err.value)
    assert 1.5 <= took < 12, took  # not before the bound; after it by one backoff step at most (slow CI aside)
    assert "\n" not in msg
    assert str(db) in msg and f"(PID {holder.pid})" in msg and "python" in msg
    assert "duckdb.lock_timeout_s: 1.5" in msg and "close that connection" in msg
    assert f"ps -o pid,args -p {holder.pid}" in msg


def test_a_read_only_connection_in_another_process_blocks_the_writer_too(db, hold):
    """What the README says about notebooks: read_only=True elsewhere still keeps ingestion out."""
    holder = hold(db, hold_s=120, read_only=True)
    with pytest.raises(EngineError, match=rf"PID {holder.pid}"):
        connect(db, lock_timeout_s=0.5)
    ro = duckdb.connect(str(db), read_only=True)  # readers share: another read-only connection opens at once
    ro.close()


def test_zero_bound_fails_at_the_first_conflict(db, hold):
    hold(db, hold_s=120)
    started = time.monotonic()
    with pytest.raises(EngineError, match="gave up after waiting 0.0 s"):
        connect(db, lock_timeout_s=0)
    assert time.monotonic() - started < 10  # no backoff at all (a wait would be logged and take seconds)


def test_backoff_doubles_with_jitter_up_to_the_cap():
    lows = backoff_waits(0.25, 10, rng=lambda: 0.0)
    highs = backoff_waits(0.25, 10, rng=lambda: 1.0)
    low, high = [next(lows) for _ in range(8)], [next(highs) for _ in range(8)]
    assert high == [0.25, 0.5, 1, 2, 4, 8, 10, 10]
    assert low == [h / 2 for h in high]  # equal jitter: each wait in [b/2, b]


def test_the_bound_is_total_and_the_last_wait_is_cut_to_it():
    """With a fake clock: waits 0.25, 0.5, 1, 2 then the 4 s wait is cut to what is left of 5 s; no sleep past it."""
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    def locked():
        raise duckdb.IOException(
            'IO Error: Could not set lock on file "/d/w.duckdb": Conflicting lock is held in /usr/bin/python3 (PID 7). '
            "See also https://duckdb.org/docs/current/connect/concurrency"
        )

    with pytest.raises(EngineError) as err:
        open_waiting_for_lock(
            locked, "/d/w.duckdb", 5, sleep=sleep, clock=lambda: now[0], waits=backoff_waits(rng=lambda: 1.0)
        )
    assert slept == [0.25, 0.5, 1, 2, 1.25] and sum(slept) == 5
    assert "locked by /usr/bin/python3 (PID 7)" in str(err.value)


def test_other_io_errors_are_not_waited_on(tmp_path):
    def broken():
        raise duckdb.IOException("IO Error: Cannot open file: Permission denied")

    with pytest.raises(duckdb.IOException, match="Permission denied"):
        open_waiting_for_lock(broken, tmp_path / "w.duckdb", 60, sleep=pytest.fail)
    assert lock_holder(ValueError("Could not set lock on file"), "x") is None
