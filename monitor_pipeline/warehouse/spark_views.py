"""DuckDB views over the Spark engine's Parquet output, so every downstream asset reads one SQL surface."""

from __future__ import annotations

from pathlib import Path

import duckdb

from monitor_pipeline.errors import EngineError
from monitor_pipeline.warehouse.schema import TABLES

# What the Spark engine writes under its output (see engines/spark.py): the canonical tables, the
# quarantine and both window tables, hive-partitioned by partition_date (and source_id / table_name).
SPARK_TABLES = (*TABLES, "quarantine", "skipped_lines", "request_windows", "resource_windows", "engine_windows")


def _duckdb_path(output: str) -> str:
    """The output as a path DuckDB reads: local (file://) as is, s3a:// as s3:// (httpfs); anything else fails."""
    if output.startswith("file://"):
        return output[len("file://") :]
    if output.startswith(("s3a://", "s3://")):
        return "s3://" + output.split("://", 1)[1]
    if "://" in output:
        raise EngineError(
            f"spark.output {output} cannot be read by the downstream assets (DuckDB reads local paths and s3a://); "
            "set spark.output to a shared filesystem path or an S3 bucket"
        )
    return output


def attach_spark_output(con: duckdb.DuckDBPyConnection, output: str) -> list[str]:
    """Create TEMP views named like the warehouse tables over `output`'s Parquet; returns the tables attached.

    Temp views shadow the (empty) tables of the same name in the DuckDB file, so the queries downstream
    assets run are the same on both engines. A table Spark has not written yet keeps the DuckDB table.
    """
    base = _duckdb_path(output.rstrip("/"))
    remote = base.startswith("s3://")
    if remote:
        try:
            con.execute("LOAD httpfs")
        except duckdb.Error:
            try:
                con.execute("INSTALL httpfs")
                con.execute("LOAD httpfs")
            except duckdb.Error as exc:
                raise EngineError(f"reading spark.output {output} needs DuckDB's httpfs extension: {exc}") from None
    attached = []
    for table in SPARK_TABLES:
        pattern = f"{base}/{table}/**/*.parquet"
        if not remote and not any(Path(base, table).glob("**/*.parquet")):
            continue
        scan = f"read_parquet('{pattern}', hive_partitioning = true, union_by_name = true)"
        try:
            found = dict(
                con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {scan})").fetchall()
            )
        except duckdb.IOException:
            continue  # nothing written yet for this table
        con.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT {_columns(con, table, found)} FROM {scan}")
        attached.append(table)
    return attached


def _columns(con: duckdb.DuckDBPyConnection, table: str, found: dict[str, str]) -> str:
    """The select list giving the view the DuckDB table's exact columns and types (else Parquet's as they are)."""
    canonical = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = ? "
        "AND database_name = current_database() ORDER BY column_index",
        [table],
    ).fetchall()
    if not canonical:
        return "*"
    out = []
    for name, kind in canonical:
        col = f'"{name}"'
        if name not in found:
            out.append(f"CAST(NULL AS {kind}) AS {col}")
        elif kind == "TIMESTAMP WITH TIME ZONE" and found[name] == "TIMESTAMP":
            # Spark stores instants as UTC wall time without a zone: read them back as UTC instants.
            out.append(f"timezone('UTC', {col}) AS {col}")
        else:
            out.append(f"CAST({col} AS {kind}) AS {col}")
    return ", ".join(out)
