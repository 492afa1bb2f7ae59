"""The SQL of the security group: the day's and the burst history's requests as views the rules read, and the
table `security_findings` replaced one day at a time, on DuckDB and on Spark's Parquet output."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import duckdb
import pandas as pd

from monitor_pipeline.errors import EngineError
from monitor_pipeline.ingest.engines.dialect import DUCKDB
from monitor_pipeline.security.window_rules import burst_baseline_sql

DAY_VIEW, HISTORY_VIEW = "day_requests", "history_requests"
TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS security_findings (partition_date DATE, rule VARCHAR, kind VARCHAR, scope VARCHAR, "
    "severity VARCHAR, scope_value VARCHAR, window_start TIMESTAMPTZ, window_end TIMESTAMPTZ, value DOUBLE, "
    "threshold DOUBLE, count BIGINT, request_id VARCHAR, evidence VARCHAR, created_at TIMESTAMPTZ)"
)
COLUMNS = [
    "partition_date",
    "rule",
    "kind",
    "scope",
    "severity",
    "scope_value",
    "window_start",
    "window_end",
    "value",
    "threshold",
    "count",
    "request_id",
    "evidence",
    "created_at",
]


BASELINE_DDL = (
    "CREATE TABLE IF NOT EXISTS burst_baseline_users (baseline VARCHAR, sv VARCHAR, med DOUBLE, mad DOUBLE, "
    "active BIGINT)",
    "CREATE TABLE IF NOT EXISTS burst_baseline_population (baseline VARCHAR, pmed DOUBLE, pmad DOUBLE, smed DOUBLE, "
    "computed_at TIMESTAMPTZ)",
)


class NoRequestsStored(EngineError):
    """Spark's output holds no requests table yet."""


def request_views(con: duckdb.DuckDBPyConnection, day: dt.date, history_days: int) -> tuple[str, str]:
    """TEMP views of the day's requests and of the `history_days` days up to it; returns their names."""
    lo = day - dt.timedelta(days=history_days)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {DAY_VIEW} AS SELECT * FROM requests WHERE partition_date = DATE '{day}'")
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {HISTORY_VIEW} AS SELECT * FROM requests "
        f"WHERE partition_date BETWEEN DATE '{lo}' AND DATE '{day}'"
    )
    return DAY_VIEW, HISTORY_VIEW


def recent_request_views(
    con: duckdb.DuckDBPyConnection, day: dt.date, since: dt.datetime, history_days: int
) -> tuple[str, str]:
    """Like request_views, with the day's relation cut to the requests from `since` on (a live scan's new rows and
    the rules' windows before them)."""
    day_view, history = request_views(con, day, history_days)
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {DAY_VIEW} AS SELECT * FROM requests WHERE partition_date = DATE '{day}' "
        f"AND timestamp >= TIMESTAMPTZ '{since.isoformat()}'"
    )
    return day_view, history


def burst_baselines(con: duckdb.DuckDBPyConnection, rules: list, history: str, key: str) -> dict[str, tuple[str, str]]:
    """The history side of each enabled burst rule (window_rules.burst_baseline_sql over `history`), stored once per
    `key` (the live loop's: the day and hour) and the rule's parameters; TEMP views of it by rule id for run_rules.

    Per-user medians over a week of 5-minute buckets are most of a live scan's cost (5 s of CPU a micro-batch at
    100 requests/s, against 0.3 s for every other rule): they change slowly, so the live loop reads them from here
    and recomputes them when the key changes. An older key of the same rule is dropped then."""
    for ddl in BASELINE_DDL:
        con.execute(ddl)
    out: dict[str, tuple[str, str]] = {}
    for i, rule in enumerate(r for r in rules if r.kind == "burst" and r.enabled):
        digest = hashlib.sha1(rule.model_dump_json().encode()).hexdigest()[:12]
        name = f"{rule.id}|{key}|{digest}"
        stored = con.execute("SELECT count(*) FROM burst_baseline_population WHERE baseline = ?", [name]).fetchone()
        if not stored or not stored[0]:
            users, population = burst_baseline_sql(DUCKDB, rule, history)
            con.execute("BEGIN TRANSACTION")
            try:
                for table in ("burst_baseline_users", "burst_baseline_population"):
                    con.execute(f"DELETE FROM {table} WHERE split_part(baseline, '|', 1) = ?", [rule.id])
                con.execute(
                    f"INSERT INTO burst_baseline_users SELECT ?, CAST(sv AS VARCHAR), med, mad, active FROM ({users}) u",
                    [name],
                )
                con.execute(
                    f"INSERT INTO burst_baseline_population SELECT ?, pmed, pmad, smed, now() FROM ({population}) p",
                    [name],
                )
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
        lit = DUCKDB.str_lit(name)
        views = (f"burst_baseline_users_{i}", f"burst_baseline_population_{i}")
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {views[0]} AS SELECT sv, med, mad, active FROM burst_baseline_users "
            f"WHERE baseline = {lit}"
        )
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {views[1]} AS SELECT pmed, pmad, smed FROM burst_baseline_population "
            f"WHERE baseline = {lit}"
        )
        out[rule.id] = views
    return out


def replace_findings(con: duckdb.DuckDBPyConnection, day: dt.date, findings: pd.DataFrame) -> int:
    """Make `findings` the rows of `day` in the DuckDB table security_findings (a re-run replaces, never appends)."""
    con.execute(TABLE_DDL)
    frame = findings.assign(partition_date=day, created_at=pd.Timestamp.now(tz="UTC"))
    con.register("new_security_findings", frame[COLUMNS])
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM security_findings WHERE partition_date = ?", [day])
        con.execute(f"INSERT INTO security_findings SELECT {', '.join(COLUMNS)} FROM new_security_findings")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("new_security_findings")
    return len(frame)


def spark_request_views(spark: Any, output: str, day: dt.date, history_days: int) -> tuple[str, str]:
    """request_views on Spark: temp views over the requests under `output`; NoRequestsStored when there are none."""
    from pyspark.sql import functions as F

    from monitor_pipeline.ingest.engines.spark import SparkEngine

    req = SparkEngine(spark, output).read_table("requests")
    if "request_id" not in req.columns:
        raise NoRequestsStored(f"no requests stored under {output}/requests yet: materialize clean_requests first")
    lo = day - dt.timedelta(days=history_days)
    req.filter(F.col("partition_date") == F.lit(day)).createOrReplaceTempView(DAY_VIEW)
    req.filter(F.col("partition_date").between(F.lit(lo), F.lit(day))).createOrReplaceTempView(HISTORY_VIEW)
    return DAY_VIEW, HISTORY_VIEW


def replace_spark_findings(spark: Any, output: str, day: dt.date, findings: pd.DataFrame) -> int:
    """replace_findings on Spark: the day's Parquet partition of security_findings under `output` rewritten."""
    from monitor_pipeline.ingest.engines.spark import SparkEngine

    path = f"{output}/security_findings/partition_date={day.isoformat()}"
    SparkEngine(spark, output)._delete(path)
    if len(findings):
        spark.createDataFrame(findings).write.mode("overwrite").parquet(path)
    return len(findings)
