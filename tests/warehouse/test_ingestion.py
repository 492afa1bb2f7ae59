"""The ingestion group's SQL: stored rows per table and source, the quarantine sample, the frames it plots."""

from __future__ import annotations

import datetime as dt

import duckdb

from monitor_pipeline.warehouse.ingestion import STORED_TABLES, plot_frames, quarantine_sample, stored_counts

DAY = dt.date(2026, 11, 20)


def _con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for t in STORED_TABLES:
        con.execute(f"CREATE TABLE {t} (source VARCHAR, partition_date DATE)")
    con.execute(
        "INSERT INTO requests VALUES ('gw', ?), ('gw', ?), ('other', ?), ('gw', ?)",
        [DAY, DAY, DAY, DAY - dt.timedelta(days=1)],
    )
    return con


def test_stored_counts_are_of_the_day_and_the_run_sources():
    counts = stored_counts(_con(), DAY, {"gw", "gpus"})
    assert counts == {t: 2 if t == "requests" else 0 for t in STORED_TABLES}


def test_quarantine_sample_is_ordered_and_limited():
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE quarantine (source_file VARCHAR, line_no BIGINT, reason VARCHAR, field VARCHAR, "
        "detail VARCHAR, partition_date DATE)"
    )
    con.executemany(
        "INSERT INTO quarantine VALUES (?, ?, 'malformed', NULL, 'x', ?)",
        [("b", 1, DAY), ("a", 9, DAY), ("a", 2, DAY), ("a", 1, DAY - dt.timedelta(days=1))],
    )
    assert quarantine_sample(con, DAY) == [
        ("a", 2, "malformed", "", "x"),
        ("a", 9, "malformed", "", "x"),
        ("b", 1, "malformed", "", "x"),
    ]
    assert len(quarantine_sample(con, DAY, limit=1)) == 1


def test_plot_frames_are_the_days_5_minute_windows_in_time_order():
    con = duckdb.connect()
    for t in ("request_windows", "resource_windows", "engine_windows"):
        con.execute(f"CREATE TABLE {t} (window_start TIMESTAMP, window_size VARCHAR, partition_date DATE)")
        con.execute(
            f"INSERT INTO {t} VALUES ('2026-11-20 00:05', '5m', ?), ('2026-11-20 00:00', '5m', ?), "
            "('2026-11-20 00:00', '1h', ?)",
            [DAY, DAY, DAY],
        )
    con.execute("CREATE TABLE offline_log (timestamp TIMESTAMP, partition_date DATE)")
    frames = plot_frames(con, DAY)
    assert list(frames) == ["request_windows", "offline_log", "resource_windows", "engine_windows"]
    assert frames["offline_log"].empty
    for t in ("request_windows", "resource_windows", "engine_windows"):
        assert list(frames[t]["window_size"]) == ["5m", "5m"] and frames[t]["window_start"].is_monotonic_increasing
