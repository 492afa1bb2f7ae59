"""The SQL of the validation group: the rows a suite reads, and the history of every suite's outcomes per day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import duckdb
import pandas as pd

from monitor_pipeline.warehouse.tables import table_names

RESULTS_TABLE = "validation_results"
RESULT_COLUMNS = [
    "suite",
    "asset",
    "expectation",
    "column_name",
    "severity",
    "success",
    "unexpected_count",
    "unexpected_percent",
    "rows",
    "validated_rows",
    "error",
    "validated_at",
]


def partition_rows(
    con: duckdb.DuckDBPyConnection, table: str, day: dt.date, sample_rows: int
) -> tuple[pd.DataFrame, int]:
    """The day's rows of `table` (a seeded reservoir sample of `sample_rows` when it has more) and how many it has."""
    total = con.execute(f"SELECT count(*) FROM {table} WHERE partition_date = ?", [day]).fetchall()[0][0]
    sample = f" USING SAMPLE reservoir({sample_rows} ROWS) REPEATABLE (7)" if total > sample_rows else ""
    df = con.execute(f"SELECT * FROM (SELECT * FROM {table} WHERE partition_date = ?){sample}", [day]).df()
    return df, total


def day_columns(con: duckdb.DuckDBPyConnection, table: str, day: dt.date, columns: Sequence[str]) -> pd.DataFrame:
    """Every row of `table` for `day`, only `columns` (a constant `_row` when none: a row count needs no column)."""
    have = {
        r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [table]).fetchall()
    }
    # A column the suite names but the table lacks is left out: GX then reports it missing, as on the sample.
    cols = ", ".join('"' + c.replace('"', '""') + '"' for c in columns if c in have) or "1 AS _row"
    return con.execute(f"SELECT {cols} FROM {table} WHERE partition_date = ?", [day]).df()


def record_outcomes(
    con: duckdb.DuckDBPyConnection, suite: str, day: dt.date, rows: Sequence[Mapping[str, object]]
) -> int:
    """Make `rows` (RESULT_COLUMNS each) the stored outcomes of `suite` for `day`: a re-run replaces, never duplicates."""
    frame = pd.DataFrame(list(rows), columns=RESULT_COLUMNS)
    frame["partition_date"] = pd.Timestamp(day).date()
    con.register("_validation_rows", frame)
    try:
        con.execute(f"CREATE TABLE IF NOT EXISTS {RESULTS_TABLE} AS SELECT * FROM _validation_rows LIMIT 0")
        con.execute("BEGIN")
        con.execute(f"DELETE FROM {RESULTS_TABLE} WHERE partition_date = ? AND suite = ?", [day, suite])
        con.execute(f"INSERT INTO {RESULTS_TABLE} BY NAME SELECT * FROM _validation_rows")
        con.execute("COMMIT")
    finally:
        con.unregister("_validation_rows")
    return len(frame)


def outcome_history(con: duckdb.DuckDBPyConnection, day: dt.date, days: int) -> pd.DataFrame:
    """The stored outcomes of `day` and the `days` days before it (empty when nothing was validated yet)."""
    if RESULTS_TABLE not in table_names(con):
        return pd.DataFrame(columns=[*RESULT_COLUMNS, "partition_date"])
    start = day - dt.timedelta(days=days)
    return con.execute(
        f"SELECT * FROM {RESULTS_TABLE} WHERE partition_date BETWEEN ? AND ? ORDER BY partition_date, suite",
        [start, day],
    ).df()
