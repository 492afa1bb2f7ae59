"""The DuckDB side of incremental ingestion: append new lines as if the whole file had been read at once.

An incremental batch is one ingest of the new lines of each file (ingest.incremental finds them); what makes the
tables equal to one ingest of the whole file is done here: rows of a moved file follow its new name, a line read
again replaces its earlier row, a request id already stored is a duplicate, and only the 5-minute and 1-hour windows
the new rows (or replaced ones) fall in are recomputed (duckdb_windows.touched_windows).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

import duckdb

from monitor_pipeline.ingest.engines.base import IngestRequest, IngestResult, SourceFile
from monitor_pipeline.ingest.engines.dialect import DUCKDB as D
from monitor_pipeline.ingest.incremental import CURSOR_COLUMNS
from monitor_pipeline.warehouse.schema import TABLES, TableSchema

LINE_TABLES = ("quarantine", "skipped_lines")  # tables keyed by (source_file, line_no) rather than source_line


def relabel(con: duckdb.DuckDBPyConnection, moves: Sequence[tuple[str, str]]) -> None:
    """Give the rows of moved files their new names (all moves at once: a rotation shifts several)."""
    if not moves:
        return
    con.execute("CREATE OR REPLACE TEMP TABLE moves (old VARCHAR, new VARCHAR)")
    con.executemany("INSERT INTO moves VALUES (?, ?)", list(moves))
    con.execute("BEGIN TRANSACTION")
    try:
        for t in TABLES.values():
            if t.unique_key:  # a line without an id got `<file name>:<line>`: the file's name now
                k = t.unique_key
                con.execute(
                    f"UPDATE {t.name} SET {k} = regexp_extract(m.new, '[^/]+$', 0) || ':' || CAST(source_line AS "
                    f"VARCHAR) FROM moves m WHERE {t.name}.source_file = m.old AND {k} = "
                    f"regexp_extract(m.old, '[^/]+$', 0) || ':' || CAST(source_line AS VARCHAR)"
                )
        for table in (*(t.name for t in TABLES.values()), *LINE_TABLES):
            con.execute(f"UPDATE {table} SET source_file = m.new FROM moves m WHERE {table}.source_file = m.old")
        # A duplicate names the line it repeats: that line's file has the new name too.
        con.execute(
            "UPDATE quarantine SET detail = replace(detail, ' already seen at ' || m.old || ':', ' already seen at ' "
            "|| m.new || ':') FROM moves m WHERE quarantine.reason = 'duplicate' AND contains(quarantine.detail, "
            "' already seen at ' || m.old || ':')"
        )
        con.execute("UPDATE ingest_cursors SET label = m.new FROM moves m WHERE ingest_cursors.label = m.old")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def _reread(con: duckdb.DuckDBPyConnection, files: Sequence[SourceFile]) -> None:
    """The batch's files with their first line: their rows from that line on are replaced."""
    con.execute("CREATE OR REPLACE TEMP TABLE reread (source_file VARCHAR, first_line BIGINT, from_day DATE)")
    rows = [(f.label, f.first_line, f.from_day or dt.date(2000, 1, 1)) for f in files]
    if rows:
        con.executemany("INSERT INTO reread VALUES (?, ?, ?)", rows)


def dedupe_existing(con: duckdb.DuckDBPyConnection, schema: TableSchema, files: Sequence[SourceFile]) -> None:
    """Mark new clean rows whose unique key a stored row of the same source already has (near the same days) as
    duplicates of it, as one ingest of the whole file would have: the stored row came first."""
    _reread(con, files)
    k = schema.unique_key
    if not k:
        return
    names = schema.names()
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE seen AS SELECT e.{k} AS dup_key, "
        "arg_min(e.source_file || ':' || CAST(e.source_line AS VARCHAR), (e.source_file, e.source_line)) AS first "
        f"FROM {schema.name} e WHERE e.source IN (SELECT source FROM src) "
        "AND e.partition_date >= (SELECT min(partition_date) - 1 FROM typed) "
        "AND e.partition_date <= (SELECT max(partition_date) + 1 FROM typed) "
        f"AND e.{k} IN (SELECT {k} FROM typed WHERE reason IS NULL AND skip IS NULL) "
        "AND NOT EXISTS (SELECT 1 FROM reread r WHERE r.source_file = e.source_file AND e.source_line >= r.first_line) "
        "GROUP BY 1"
    )
    raw = D.row_json([f"typed.{c}" for c in names], names)
    con.execute(
        f"UPDATE typed SET reason = 'duplicate', field = '{k}', detail = '{k} already seen at ' || seen.first, "
        f"raw = {raw} FROM seen WHERE typed.{k} = seen.dup_key AND typed.reason IS NULL AND typed.skip IS NULL"
    )


def replace_lines(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Inside the batch's transaction: remove the rows of lines read again, noting the windows they were in and the
    windows of the new rows (all recomputed once the batch is stored)."""
    _note_buckets(
        con,
        f"SELECT t.timestamp AS ts, t.partition_date AS d FROM {table} t JOIN reread r "
        "ON t.source_file = r.source_file AND t.source_line >= r.first_line AND t.partition_date >= r.from_day",
    )
    _note_buckets(con, "SELECT timestamp AS ts, partition_date AS d FROM final WHERE reason IS NULL AND skip IS NULL")
    con.execute(
        f"DELETE FROM {table} t USING reread r WHERE t.source_file = r.source_file AND t.source_line >= r.first_line "
        "AND t.partition_date >= r.from_day"
    )
    for lt in LINE_TABLES:
        con.execute(
            f"DELETE FROM {lt} q USING reread r WHERE q.table_name = ? AND q.source_file = r.source_file "
            "AND q.line_no >= r.first_line",
            [table],
        )


def _note_buckets(con: duckdb.DuckDBPyConnection, rows: str) -> None:
    for size, sec in (("5m", 300), ("1h", 3600)):
        con.execute(
            f"INSERT INTO touched SELECT DISTINCT {D.bucket('ts', sec)}, '{size}', d FROM ({rows}) x "
            "WHERE ts IS NOT NULL"
        )


def store_cursors(con: duckdb.DuckDBPyConnection, request: IngestRequest, result: IngestResult) -> None:
    """Store the batch's cursors (after its data: a crash between the two re-reads lines, which replace their rows)."""
    _reread(con, request.files)
    last = {}
    for t in {f.fmt.table for f in request.files}:
        last.update(
            dict(
                con.execute(
                    f"SELECT source_file, max(partition_date) FROM {t} t JOIN reread r USING (source_file) "
                    "WHERE t.partition_date >= r.from_day GROUP BY 1"
                ).fetchall()
            )
        )
    rows = []
    for c in request.cursors:
        day = last.get(c.label) or c.last_day
        rows.append(dataclasses.replace(c, last_day=day).row())
    labels = [*request.dropped_cursors, *(r[0] for r in rows)]
    con.execute("BEGIN TRANSACTION")
    try:
        if labels:
            con.execute("DELETE FROM ingest_cursors WHERE label IN (SELECT unnest(?))", [labels])
        if rows:
            marks = ", ".join("?" for _ in CURSOR_COLUMNS)
            con.executemany(f"INSERT INTO ingest_cursors ({', '.join(CURSOR_COLUMNS)}) VALUES ({marks})", rows)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
