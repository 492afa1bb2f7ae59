"""The SQL of the ingestion group: rows stored per table for a day, a sample of the quarantine, the frames it plots."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import duckdb
import pandas as pd

# Every table a line of the input can end in: a clean row of one kind or another, a quarantined line, a skipped one.
STORED_TABLES = (
    "requests",
    "resources",
    "online_log",
    "offline_log",
    "gauges",
    "engine_log",
    "quarantine",
    "skipped_lines",
)
_DAY_ROWS = "SELECT * FROM {table} WHERE partition_date = ? {where} ORDER BY {order}"


def stored_counts(con: duckdb.DuckDBPyConnection, day: dt.date, sources: Iterable[str]) -> dict[str, int]:
    """Rows now in each table for `day` and `sources`, read back independently of the engine that wrote them."""
    out = {}  # on Spark the warehouse connection reads its Parquet output through views
    con.execute("CREATE OR REPLACE TEMP TABLE run_sources (s VARCHAR)")
    con.executemany("INSERT INTO run_sources VALUES (?)", [(s,) for s in sources])
    for table in STORED_TABLES:
        out[table] = con.execute(
            f"SELECT count(*) FROM {table} WHERE partition_date = ? AND source IN (SELECT s FROM run_sources)", [day]
        ).fetchall()[0][0]
    return out


def quarantine_sample(con: duckdb.DuckDBPyConnection, day: dt.date, limit: int = 20) -> list[tuple]:
    """The first `limit` quarantined lines of `day` by file and line: (file, line, reason, field or '', detail)."""
    return con.execute(
        "SELECT source_file, line_no, reason, COALESCE(field, ''), detail FROM quarantine "
        "WHERE partition_date = ? ORDER BY source_file, line_no LIMIT ?",
        [day, limit],
    ).fetchall()


def plot_frames(con: duckdb.DuckDBPyConnection, day: dt.date) -> dict[str, pd.DataFrame]:
    """The day's 5-minute request, resource and serving-engine windows and its offline jobs, in time order."""
    return {
        "request_windows": con.execute(
            _DAY_ROWS.format(table="request_windows", where="AND window_size = '5m'", order="window_start"), [day]
        ).df(),
        "offline_log": con.execute(_DAY_ROWS.format(table="offline_log", where="", order="timestamp"), [day]).df(),
        "resource_windows": con.execute(
            _DAY_ROWS.format(table="resource_windows", where="AND window_size = '5m'", order="window_start"), [day]
        ).df(),
        "engine_windows": con.execute(
            _DAY_ROWS.format(table="engine_windows", where="AND window_size = '5m'", order="window_start"), [day]
        ).df(),
    }
