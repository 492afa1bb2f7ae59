"""The SQL of the drift_quality group: seeded samples of some days' requests, and the seed's online.log accuracy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import duckdb
import pandas as pd

from monitor_pipeline.warehouse.tables import table_names

DRIFT_COLUMNS = "timestamp, input_tokens, output_tokens, latency_ms, ttft_ms, status, model, operation, prompt"
QUALITY_COLUMNS = ["timestamp", "model", "label", "prediction", "score", "status", "error_type"]
ONLINE_COLUMNS = ["timestamp", "request_num", "accuracy"]


def drift_sample(con: duckdb.DuckDBPyConnection, days: Sequence[dt.date], rows: int) -> pd.DataFrame:
    """The columns drift compares, of the requests of `days`: a seeded reservoir sample of at most `rows`."""
    placeholders = ", ".join("?" for _ in days)
    return con.execute(
        f"SELECT * FROM (SELECT {DRIFT_COLUMNS} FROM requests WHERE partition_date IN ({placeholders})) "
        f"USING SAMPLE reservoir({rows} ROWS) REPEATABLE (11)",
        list(days),
    ).df()


def quality_sample(
    con: duckdb.DuckDBPyConnection, days: Sequence[dt.date], rows: int, columns: Sequence[str], labeled_only: bool
) -> pd.DataFrame:
    """The days' requests (only those with a label and a prediction, or all), a seeded sample above `rows`.

    The columns are QUALITY_COLUMNS and `columns`; one the table lacks is NULL.
    """
    wanted = list(dict.fromkeys([*QUALITY_COLUMNS, *columns]))
    present = {r[0] for r in con.execute("DESCRIBE requests").fetchall()}
    if labeled_only and not {"label", "prediction"} <= present:
        return pd.DataFrame(columns=wanted)
    cols = ", ".join(c if c in present else f"NULL AS {c}" for c in wanted)
    marks = ", ".join("?" for _ in days)
    where = " AND label IS NOT NULL AND prediction IS NOT NULL" if labeled_only else ""
    return con.execute(
        f"SELECT * FROM (SELECT {cols} FROM requests WHERE partition_date IN ({marks}){where}) "
        f"USING SAMPLE reservoir({rows} ROWS) REPEATABLE (13)",
        list(days),
    ).df()


def online_log(con: duckdb.DuckDBPyConnection, day: dt.date) -> pd.DataFrame:
    """The day's online.log samples (timestamp, request_num, accuracy) in time order; none when never ingested."""
    if "online_log" not in table_names(con):
        return pd.DataFrame(columns=ONLINE_COLUMNS)
    return con.execute(
        "SELECT timestamp, request_num, accuracy FROM online_log WHERE partition_date = ? ORDER BY timestamp", [day]
    ).df()
