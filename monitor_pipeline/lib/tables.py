"""Derived warehouse tables that assets replace one partition at a time (re-runs never duplicate)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd


def replace_partition(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame, day: dt.date) -> int:
    """Make `df` the rows of `table` for `day` (column `partition_date` added); the table is created from df's shape."""
    frame = df.assign(partition_date=pd.Timestamp(day).date())
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [table]).fetchall()[0][0]
    if frame.empty:  # an empty frame has no column types to create a table from: only clear the day
        if exists:
            con.execute(f"DELETE FROM {table} WHERE partition_date = ?", [day])
        return 0
    con.register("_replace_rows", frame)
    try:
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM _replace_rows LIMIT 0")
        con.execute("BEGIN")
        con.execute(f"DELETE FROM {table} WHERE partition_date = ?", [day])
        if len(frame):
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _replace_rows")
        con.execute("COMMIT")
    finally:
        con.unregister("_replace_rows")
    return len(frame)
