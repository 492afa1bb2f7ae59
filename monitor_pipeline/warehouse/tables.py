"""Derived warehouse tables that assets replace one partition at a time (re-runs never duplicate)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd


def table_names(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The tables the connection sees, in one query (to test several at once)."""
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def replace_partition(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame, day: dt.date) -> int:
    """Make `df` the rows of `table` for `day` (column `partition_date` added); the table is created from df's shape."""
    frame = df.assign(partition_date=pd.Timestamp(day).date())
    exists = table in table_names(con)
    if frame.empty:  # an empty frame has no column types to create a table from: only clear the day
        if exists:
            con.execute(f"DELETE FROM {table} WHERE partition_date = ?", [day])
        return 0
    con.register("_replace_rows", frame)
    try:
        # A column that is all None in this frame has no type: VARCHAR, as later rows will say.
        cols = [
            (name, "VARCHAR" if typ == '"NULL"' else typ)
            for name, typ, *_ in con.execute("DESCRIBE SELECT * FROM _replace_rows").fetchall()
        ]
        if not exists:
            con.execute(f"CREATE TABLE {table} (" + ", ".join(f"{_ident(n)} {t}" for n, t in cols) + ")")
        else:  # a later run may carry columns the first did not (e.g. metrics of a model that was skipped then)
            have = {
                r[0]
                for r in con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [table]
                ).fetchall()
            }
            for n, t in cols:
                if n not in have:
                    con.execute(f"ALTER TABLE {table} ADD COLUMN {_ident(n)} {t}")
        con.execute("BEGIN")
        try:
            con.execute(f"DELETE FROM {table} WHERE partition_date = ?", [day])
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _replace_rows")
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    finally:
        con.unregister("_replace_rows")
    return len(frame)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
