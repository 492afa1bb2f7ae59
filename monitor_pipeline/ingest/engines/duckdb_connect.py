"""Opening the DuckDB warehouse (UTC, a memory cap, waiting for another process's lock) and creating its tables."""

from __future__ import annotations

from pathlib import Path

import duckdb

from monitor_pipeline.errors import EngineError
from monitor_pipeline.ingest.engines.dialect import DUCKDB as D
from monitor_pipeline.ingest.engines.sql import (
    request_windows_sql,
    resource_windows_sql,
)
from monitor_pipeline.ingest.incremental import CURSOR_DDL
from monitor_pipeline.ingest.serving import windows as serving_windows
from monitor_pipeline.warehouse.schema import TABLES

SQL_TYPES = {"timestamp": "TIMESTAMPTZ", "string": "VARCHAR", "int": "BIGINT", "double": "DOUBLE"}
LINEAGE = "source VARCHAR, source_file VARCHAR, source_line BIGINT, partition_date DATE, ingested_at TIMESTAMPTZ"
QUARANTINE_DDL = (
    "CREATE TABLE IF NOT EXISTS quarantine (table_name VARCHAR, source VARCHAR, source_file VARCHAR, "
    "line_no BIGINT, reason VARCHAR, field VARCHAR, detail VARCHAR, raw VARCHAR, partition_date DATE, "
    "ingested_at TIMESTAMPTZ)"
)
SKIPPED_DDL = (
    "CREATE TABLE IF NOT EXISTS skipped_lines (table_name VARCHAR, source VARCHAR, source_file VARCHAR, "
    "line_no BIGINT, reason VARCHAR, raw VARCHAR, partition_date DATE, ingested_at TIMESTAMPTZ)"
)


def connect(
    db_path: str | Path,
    memory_limit: str = "1GB",
    threads: int | None = None,
    lock_timeout_s: float | None = None,
    logger=None,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse with UTC sessions, a memory cap (DuckDB spills past it) and the tables created.

    While another process holds the file, wait with backoff up to `lock_timeout_s` (default 120 s; lib.engines.lock).
    """
    from monitor_pipeline.warehouse.lock import open_waiting_for_lock

    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    try:
        con = open_waiting_for_lock(lambda: duckdb.connect(str(db_path)), db_path, lock_timeout_s, logger)
    except duckdb.IOException as exc:
        raise EngineError(f"cannot open the DuckDB warehouse {db_path}: {exc}") from None
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    ensure_tables(con)
    return con


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the canonical, quarantine and window tables when missing."""
    for schema in TABLES.values():
        cols = ", ".join(f'"{c.name}" {SQL_TYPES[c.type]}' for c in schema.columns)
        con.execute(f"CREATE TABLE IF NOT EXISTS {schema.name} ({cols}, {LINEAGE})")
        # A warehouse made by an earlier version gains the columns added since (NULL in its old rows).
        for c in schema.columns:
            con.execute(f'ALTER TABLE {schema.name} ADD COLUMN IF NOT EXISTS "{c.name}" {SQL_TYPES[c.type]}')
    con.execute(QUARANTINE_DDL)
    con.execute(SKIPPED_DDL)
    con.execute(CURSOR_DDL)
    con.execute(f"CREATE TABLE IF NOT EXISTS engine_windows ({serving_windows.ddl_columns()})")
    for name, sql in (
        ("request_windows", request_windows_sql(D, "requests", "online_log")),
        ("resource_windows", resource_windows_sql(D, "resources")),
    ):
        con.execute(f"CREATE TABLE IF NOT EXISTS {name} AS SELECT * FROM ({sql}) w LIMIT 0")
        have = {r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()}
        for col, typ, *_ in con.execute(f"DESCRIBE SELECT * FROM ({sql}) w").fetchall():
            if col not in have:  # a column added since this warehouse was made
                con.execute(f'ALTER TABLE {name} ADD COLUMN "{col}" {typ}')
