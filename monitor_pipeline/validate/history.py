"""Every suite's expectation outcomes per partition in the warehouse, and the day's scorecard built from them."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from monitor_pipeline.validate.suites import ValidationOutcome

TABLE = "validation_results"
COLUMNS = ["suite", "asset", "expectation", "column_name", "severity", "success", "unexpected_count",
           "unexpected_percent", "rows", "validated_rows", "error", "validated_at"]


def record(con: duckdb.DuckDBPyConnection, asset: str, outcome: ValidationOutcome, day: dt.date) -> int:
    """Make `outcome` the stored result of its suite for `day` (a re-run replaces it, never duplicates)."""
    now = pd.Timestamp.now(tz="UTC")
    frame = pd.DataFrame([{
        "suite": outcome.suite, "asset": asset, "expectation": e.type, "column_name": e.column or "",
        "severity": e.severity, "success": bool(e.success),
        "unexpected_count": -1 if e.unexpected_count is None else int(e.unexpected_count),
        "unexpected_percent": float("nan") if e.unexpected_percent is None else float(e.unexpected_percent),
        "rows": int(outcome.rows), "validated_rows": int(outcome.validated_rows), "error": e.error or "",
        "validated_at": now} for e in outcome.expectations], columns=COLUMNS)
    frame["partition_date"] = pd.Timestamp(day).date()
    con.register("_validation_rows", frame)
    try:
        con.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} AS SELECT * FROM _validation_rows LIMIT 0")
        con.execute("BEGIN")
        con.execute(f"DELETE FROM {TABLE} WHERE partition_date = ? AND suite = ?", [day, outcome.suite])
        con.execute(f"INSERT INTO {TABLE} BY NAME SELECT * FROM _validation_rows")
        con.execute("COMMIT")
    finally:
        con.unregister("_validation_rows")
    return len(frame)


def history(con: duckdb.DuckDBPyConnection, day: dt.date, days: int) -> pd.DataFrame:
    """The stored outcomes of `day` and the `days` days before it (empty when nothing was validated yet)."""
    if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [TABLE]).fetchall()[0][0]:
        return pd.DataFrame(columns=[*COLUMNS, "partition_date"])
    start = day - dt.timedelta(days=days)
    return con.execute(f"SELECT * FROM {TABLE} WHERE partition_date BETWEEN ? AND ? ORDER BY partition_date, suite",
                       [start, day]).df()


def scorecard(outcomes: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """Per suite: expectations run and failed by severity on `day`, and the pass rate on each earlier day."""
    if outcomes.empty:
        return pd.DataFrame(columns=["suite", "asset", "rows", "expectations", "failed_critical", "failed_warning",
                                     "pass_rate", "pass_rate_before", "newly_failing"])
    df = outcomes.assign(partition_date=pd.to_datetime(outcomes["partition_date"]).dt.date)
    today, before = df[df["partition_date"] == day], df[df["partition_date"] < day]
    rows = []
    for suite, g in today.groupby("suite", sort=True):
        prev = before[before["suite"] == suite]
        failed_before = set(prev.loc[~prev["success"], ["expectation", "column_name"]].itertuples(index=False))
        failed_now = g.loc[~g["success"], ["expectation", "column_name"]].itertuples(index=False)
        rows.append({
            "suite": suite, "asset": g["asset"].iloc[0], "rows": int(g["rows"].iloc[0]), "expectations": len(g),
            "failed_critical": int((~g["success"] & (g["severity"] == "critical")).sum()),
            "failed_warning": int((~g["success"] & (g["severity"] != "critical")).sum()),
            "pass_rate": float(g["success"].mean()),
            "pass_rate_before": float(prev["success"].mean()) if len(prev) else float("nan"),
            # What broke today that held on every earlier day in the window: what on-call looks at first.
            "newly_failing": ", ".join(f"{e}({c})" if c else e for e, c in failed_now if (e, c) not in failed_before),
        })
    return pd.DataFrame(rows)
