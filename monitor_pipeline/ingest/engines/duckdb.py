"""The embedded engine: DuckDB reads numbered raw lines from Arrow chunks and runs the shared SQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, cast

import duckdb

from monitor_pipeline.ingest.engines import duckdb_windows
from monitor_pipeline.ingest.engines.base import IngestRequest, IngestResult, SourceFile
from monitor_pipeline.ingest.engines.common import (
    check_line_count,
    file_progress,
    line_skip_sql,
    naive_time_warning,
    shifted,
    typing_options,
)
from monitor_pipeline.ingest.engines.dialect import DUCKDB as D
from monitor_pipeline.ingest.engines.duckdb_connect import connect
from monitor_pipeline.ingest.engines.sql import (
    TypingOptions,
    fixes_sql,
    typed_sql,
)
from monitor_pipeline.ingest.formats.base import LineFormat
from monitor_pipeline.ingest.formats.files import FileFacts, readable, scan
from monitor_pipeline.warehouse.schema import TABLES, TableSchema

# The line-count pass beside a one-pass read notes where every BULK_INDEX_EVERY-th line starts, so that the few lines
# the bulk read rejects can be read again by number (FileFacts.read_lines) without numbering the whole file.
BULK_INDEX_EVERY = 16
# Lines of a registered Arrow chunk (decoded by lib.lines): blank lines and a header are skipped lines.
DECODED = (
    "SELECT {label} AS source_file, line_no, {skip} AS skip, line_bytes, last_no_newline, text, bad_raw "
    "FROM chunk_lines"
)


class DuckDBEngine:
    """Ingests into a DuckDB database file (`.monitor/warehouse.duckdb` by default)."""

    def __init__(
        self,
        db_path: str | Path,
        memory_limit: str = "1GB",
        threads: int | None = None,
        chunk_bytes: int = 32 << 20,
        one_pass: bool = True,
        lock_timeout_s: float | None = None,
        logger=None,
    ) -> None:
        self.db_path, self.memory_limit, self.threads, self.chunk_bytes = db_path, memory_limit, threads, chunk_bytes
        # Another process holding the warehouse: wait up to this long (lib.engines.lock), telling `logger` each wait.
        self.lock_timeout_s, self.logger = lock_timeout_s, logger
        # Read formats that offer it (JSONL) with DuckDB's own parallel readers in one pass over the file; files
        # those readers cannot pair line for line go through lib.lines' chunks, with the same result.
        self.one_pass = one_pass

    def ingest(self, request: IngestRequest, progress: Callable[[int, int], None] | None = None) -> IngestResult:
        """Parse, type, dedupe and store every file of `request`; replace the (source, day) slices it covers.

        `progress(bytes_done, bytes)` is called after each file is read (the CLI's progress bar)."""
        advance = file_progress(request, progress) if progress else None
        by_table: dict[str, list[SourceFile]] = defaultdict(list)
        for f in request.files:
            by_table[f.fmt.table].append(f)
        result = IngestResult(warnings=list(request.warnings))
        con = connect(self.db_path, self.memory_limit, self.threads, self.lock_timeout_s, self.logger)
        try:
            days: set[dt.date] = set()
            if request.append:
                from monitor_pipeline.ingest.engines import appending

                appending.relabel(con, request.relabels)
                con.execute("CREATE OR REPLACE TEMP TABLE touched (bucket TIMESTAMPTZ, size VARCHAR, d DATE)")
            for table, files in by_table.items():
                days |= self._ingest_table(con, TABLES[table], files, request, result, advance)
            if request.append:
                duckdb_windows.touched_windows(con, result)
                appending.store_cursors(con, request, result)
            else:
                duckdb_windows.day_windows(con, days, result)
            result.days = [d.isoformat() for d in days]
        finally:
            con.close()
        return result

    def _ingest_table(
        self,
        con: duckdb.DuckDBPyConnection,
        schema: TableSchema,
        files: list[SourceFile],
        request: IngestRequest,
        result: IngestResult,
        advance: Callable[[SourceFile], None] | None = None,
    ) -> set[dt.date]:
        con.execute("DROP VIEW IF EXISTS final")
        con.execute("DROP TABLE IF EXISTS typed")
        for f in files:
            with readable(f.path, result.warnings) as path:
                opts = typing_options(request, f)
                # The file's own line count (and, for the bulk read, where every 16th line starts) comes from a separate
                # read; it runs beside DuckDB's (which needs no GIL).
                with ThreadPoolExecutor(1) as pool:
                    bulk = self.one_pass and isinstance(f.fmt, LineFormat) and f.fmt.file_stage is not None
                    counting = pool.submit(scan, path, BULK_INDEX_EVERY if bulk else 0)
                    rows = self._one_pass(con, f, path, counting, schema, opts, request) if self.one_pass else None
                    facts = counting.result()
                if rows is None:
                    rows = 0
                    for stage, n in self._stages(con, f, path, request):
                        _stage_into(con, typed_sql(D, schema, shifted(stage, f), opts))
                        rows += n
            check_line_count(f.label, facts, rows)
            if f.header_lines:  # the header line copied in front of an incremental read: read before, not again
                con.execute("DELETE FROM typed WHERE source_file = ? AND line_no < ?", [f.label, f.first_line])
            result.add_file(f.label, f.fmt.name, facts.lines - f.header_lines)
            if advance:
                advance(f)
        if not _typed_exists(con) or not con.execute("SELECT count(*) FROM typed").fetchall()[0][0]:
            return set()  # nothing read (empty files): nothing to store or replace
        if request.redact:  # before duplicates copy typed values into quarantine, and before anything is stored
            from monitor_pipeline.ingest.engines.redaction import redact_duckdb

            result.redacted += redact_duckdb(con, "typed", schema.names())
        sources = {f.label: f.source for f in files}
        con.execute("CREATE OR REPLACE TEMP TABLE src (source_file VARCHAR, source VARCHAR)")
        con.executemany("INSERT INTO src VALUES (?, ?)", list(sources.items()))
        # Batch-wide fixes touch few rows: update them in place rather than rewrite the whole table.
        gaps = con.execute("SELECT count(*) FROM typed WHERE anchor_day IS NULL").fetchall()[0][0] > 0
        fallback = (request.partition or request.now.date()).isoformat()
        if request.append:  # a line without a time at the start of a read belongs to the day of the line before it
            fallback = min((f.from_day for f in files if f.from_day), default=request.now.date()).isoformat()
        con.execute(f"CREATE OR REPLACE TEMP TABLE fixes AS {_fixes(schema, fallback, gaps)}")
        con.execute(
            "UPDATE typed SET reason = x.reason, field = x.field, detail = x.detail, raw = x.raw FROM fixes x "
            "WHERE x.reason IS NOT NULL AND typed.source_file = x.source_file AND typed.line_no = x.line_no"
        )
        con.execute(
            "UPDATE typed SET partition_date = x.partition_date FROM fixes x WHERE x.partition_date "
            "IS NOT NULL AND typed.source_file = x.source_file AND typed.line_no = x.line_no"
        )
        if request.append:
            from monitor_pipeline.ingest.engines import appending

            appending.dedupe_existing(con, schema, files)
        con.execute("CREATE TEMP VIEW final AS SELECT typed.*, src.source FROM typed JOIN src USING (source_file)")
        other = 0
        if request.append:
            slices = []
        elif request.partition is not None:
            other = con.execute("SELECT count(*) FROM final WHERE partition_date <> ?", [request.partition]).fetchall()[
                0
            ][0]
            con.execute("DELETE FROM typed WHERE partition_date <> ?", [request.partition])
            slices = [(s, request.partition) for s in set(sources.values())]
        else:
            slices = con.execute("SELECT DISTINCT source, partition_date FROM final").fetchall()
        con.execute("CREATE OR REPLACE TEMP TABLE slices (source VARCHAR, partition_date DATE)")
        if slices:
            con.executemany("INSERT INTO slices VALUES (?, ?)", slices)
        cols = ", ".join(f'"{c}"' for c in schema.names())
        now = request.now.isoformat()
        con.execute("BEGIN TRANSACTION")
        try:
            if request.append:
                appending.replace_lines(con, schema.name)
            con.execute(
                f"DELETE FROM {schema.name} t USING slices s WHERE t.source = s.source "
                f"AND t.partition_date = s.partition_date"
            )
            con.execute(
                f"INSERT INTO {schema.name} ({cols}, source, source_file, source_line, partition_date, "
                f"ingested_at) SELECT {cols}, source, source_file, line_no, partition_date, "
                f"CAST(? AS TIMESTAMPTZ) FROM final WHERE reason IS NULL AND skip IS NULL",
                [now],
            )
            for table in ("quarantine", "skipped_lines"):
                con.execute(
                    f"DELETE FROM {table} q USING slices s WHERE q.table_name = ? AND q.source = s.source "
                    "AND q.partition_date = s.partition_date",
                    [schema.name],
                )
            con.execute(
                "INSERT INTO quarantine SELECT ?, source, source_file, line_no, reason, field, detail, raw, "
                "partition_date, CAST(? AS TIMESTAMPTZ) FROM final WHERE reason IS NOT NULL "
                "ORDER BY source_file, line_no",
                [schema.name, now],
            )
            con.execute(
                "INSERT INTO skipped_lines SELECT ?, source, source_file, line_no, skip, raw, partition_date, "
                "CAST(? AS TIMESTAMPTZ) FROM final WHERE skip IS NOT NULL ORDER BY source_file, line_no",
                [schema.name, now],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        # One scan for the counts by outcome and for the times read without an offset (per file, for warnings).
        counts: dict[str, int] = {}
        skips: dict[str, int] = {}
        naive: dict[str, int] = defaultdict(int)
        for label, reason, skip, n, n_naive in con.execute(
            "SELECT source_file, reason, skip, count(*), count(*) FILTER (WHERE ts_naive AND reason IS NULL) "
            "FROM typed GROUP BY ALL"
        ).fetchall():
            if skip is not None:
                skips[skip] = skips.get(skip, 0) + n
            else:
                counts[reason or ""] = counts.get(reason or "", 0) + n
            naive[label] += n_naive
        for label in sorted(k for k, v in naive.items() if v):
            result.warn(naive_time_warning(label, naive[label]))
        clean = counts.pop("", 0)
        result.add_table(schema.name, clean, sum(counts.values()), sum(skips.values()), other, counts, skips)
        if request.append:
            return {r[0] for r in con.execute("SELECT DISTINCT partition_date FROM typed").fetchall()}
        return {d for _, d in slices}

    def _one_pass(
        self,
        con: duckdb.DuckDBPyConnection,
        f: SourceFile,
        path: str,
        counting: Future[FileFacts],
        schema: TableSchema,
        opts: TypingOptions,
        request: IngestRequest,
    ) -> int | None:
        """Stage a whole file with DuckDB's JSON reader and return its rows; None (nothing kept) when it must go in
        chunks. It starts before the file's facts are known and gives the rows back when they disqualify it.

        Issue 17: numbering every line (a row_number over the line reader POSITIONAL JOIN the JSON reader) keeps
        DuckDB to one thread, 2x a bare read_json. So the JSON reader runs alone, in parallel, its rows kept in file
        order (DuckDB preserves insertion order): a line's number is its row's position once the file's own line
        count (`scan`, beside it) says the reader gave exactly one row a line (it gives none for a blank line).
        The lines that get a reason, that the reader found nothing in, or whose id would be made from the line
        number are few: `_reread` reads them again by number and stages them paired, line by line, so each gets the
        row (file, line, reason, raw text) the line-numbered read gives it. A file this cannot account for line by
        line (blank lines, CR, a BOM, an over-long line, invalid UTF-8) goes in chunks, as it did when paired."""
        if not isinstance(f.fmt, LineFormat) or f.fmt.file_stage is None:
            return None
        label = f.label
        shift = f.first_line - 1 - f.header_lines
        stage_fn = cast(_FileStage, f.fmt.file_stage)
        bulk = stage_fn(os.path.abspath(path), label, request.max_line_bytes, False)
        con.execute("SET preserve_insertion_order = true")  # DuckDB's default, and what numbers the rows
        try:
            _stage_into(con, typed_sql(D, schema, bulk, opts))
        except duckdb.Error:  # an empty file, an object over maximum_object_size
            return None
        rows, first, last = con.execute(
            "SELECT count(*), min(rowid), max(rowid) FROM typed WHERE source_file = ?", [label]
        ).fetchall()[0]  # fetchall: a result left open blocks `register` on the fallback path
        facts = counting.result()
        # DuckDB's line reader (used by _reread) splits at a CR and keeps a byte-order mark where lib.lines does not.
        if (
            facts.has_cr
            or facts.has_bom
            or (facts.longest or 0) >= request.max_line_bytes
            or not rows
            or rows != facts.lines
            or last - first + 1 != rows
            or not self._reread(con, f, path, facts, stage_fn, schema, opts, request, first)
        ):
            con.execute("DELETE FROM typed WHERE source_file = ?", [label])
            return None
        if not facts.ends_with_newline:  # a last line cut short is 'truncated' rather than 'malformed'
            con.execute(
                "UPDATE typed SET reason = 'truncated' WHERE source_file = ? AND line_no = ? AND reason = 'malformed'",
                [label, rows + shift],
            )
        return rows

    def _reread(
        self,
        con: duckdb.DuckDBPyConnection,
        f: SourceFile,
        path: str,
        facts: FileFacts,
        stage_fn: _FileStage,
        schema: TableSchema,
        opts: TypingOptions,
        request: IngestRequest,
        first: int,
    ) -> bool:
        """Number the bulk rows of `f` (its first at rowid `first`), then replace the rows of the lines to read again
        by the line-numbered (paired) read of those lines alone. False: the file must go in chunks instead."""
        label, key = f.label, schema.unique_key
        shift = f.first_line - 1 - f.header_lines
        con.execute("UPDATE typed SET line_no = rowid - ? + ? WHERE source_file = ?", [first, 1 + shift, label])
        again = "reason IS NOT NULL" + (f" OR {key} IS NULL" if key else "")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE reread_lines AS SELECT row_number() OVER (ORDER BY line_no) AS seq, "
            f"line_no, {key or 'NULL'} AS bulk_key FROM typed WHERE source_file = ? AND ({again})",
            [label],
        )
        numbers = [n - shift for (n,) in con.execute("SELECT line_no FROM reread_lines ORDER BY seq").fetchall()]
        if not numbers:
            return True
        tmp = tempfile.mkdtemp(prefix="monitor-reread-")
        try:
            lines = os.path.join(tmp, "lines.jsonl")
            with open(lines, "wb") as fh:
                fh.write(b"\n".join(facts.read_lines(path, numbers)) + b"\n")
            stage = stage_fn(lines, label, request.max_line_bytes, True)
            stage = (
                f"SELECT s.* REPLACE (m.line_no AS line_no) FROM ({stage}) s JOIN reread_lines m ON s.line_no = m.seq"
            )
            try:
                con.execute(f"CREATE OR REPLACE TEMP TABLE reread AS {typed_sql(D, schema, stage, opts)}")
            except duckdb.Error:  # invalid UTF-8, a stray delimiter byte (the line reader raises)
                return False
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        n, unpaired, moved = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE r.skip IS NOT NULL), count(*) FILTER (WHERE m.bulk_key IS NOT NULL "
            f"AND m.bulk_key IS DISTINCT FROM r.{key or 'line_no'}) FROM reread r JOIN reread_lines m USING (line_no)"
        ).fetchall()[0]
        # A line whose two readers do not pair up (an escaped id: see _duckdb_file_stage) goes in chunks; a row that
        # is not its line's (the bulk rows out of file order) cannot happen while DuckDB keeps insertion order.
        if unpaired or n != len(numbers) or (key and moved):
            return False
        con.execute(
            "DELETE FROM typed WHERE source_file = ? AND line_no IN (SELECT line_no FROM reread_lines)", [label]
        )
        con.execute("INSERT INTO typed SELECT * FROM reread")
        con.execute("DROP TABLE reread")
        return True

    def _stages(self, con: duckdb.DuckDBPyConnection, f: SourceFile, path: str, request: IngestRequest):
        """Yield (stage SQL over a registered chunk, rows in it) for one file: one row per physical line."""
        from monitor_pipeline.ingest.lines import prefetch, read_line_chunks

        label = D.str_lit(f.label)
        if isinstance(f.fmt, LineFormat):
            lines = f"({DECODED.format(label=label, skip=line_skip_sql(D, f.fmt))})"
            chunks = read_line_chunks(path, self.chunk_bytes, request.max_line_bytes, request.raw_cap * 4)
            for chunk in prefetch(chunks):
                con.register("chunk_lines", chunk)
                yield f.fmt.stage_sql(D, lines), chunk.num_rows
                con.unregister("chunk_lines")
        else:
            for table in f.fmt.stages(Path(path), f.label):
                con.register("chunk_stage", table)
                yield "SELECT * FROM chunk_stage", table.num_rows
                con.unregister("chunk_stage")


class _FileStage(Protocol):
    """A JSON Lines format's file_stage: `numbered=False` gives its bulk read (formats.jsonl._duckdb_file_stage)."""

    def __call__(self, path: str, label: str, max_line_bytes: int, numbered: bool = True) -> str: ...


# The lines without a day, and the lines either side of each: all that decides which day such a line belongs to.
NEAR_GAPS = (
    "(SELECT source_file, line_no, anchor_day FROM typed SEMI JOIN (SELECT source_file, line_no + d AS line_no "
    "FROM typed, (VALUES (-1), (0), (1)) s(d) WHERE anchor_day IS NULL) g USING (source_file, line_no))"
)


def _fixes(schema: TableSchema, fallback: str, gaps: bool) -> str:
    """fixes_sql over the batch's `typed` table, its lines without a day filled from NEAR_GAPS rather than every line.

    A line without a day takes the day of the nearest earlier line of its file that has one (else the nearest later
    one): for a run of such lines that is the line just before the run (or just after it). Windowing those few
    rows gives the same days as windowing the whole batch, without sorting every line (issue 17: a third of the
    batch-wide pass at 10M lines)."""
    parts = [fixes_sql(D, schema, "typed", fallback, False)] if schema.unique_key else []
    if gaps:
        parts.append(fixes_sql(D, dataclasses.replace(schema, unique_key=None), NEAR_GAPS, fallback, True))
    return " UNION ALL ".join(parts) or fixes_sql(D, schema, "typed", fallback, False)


def _typed_exists(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether this batch has staged anything yet (its `typed` temp table exists)."""
    return (
        con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = 'typed'").fetchall()[0][0]
        > 0
    )


def _stage_into(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Append typed rows to the batch's `typed` table, creating it on first use."""
    con.execute(f"INSERT INTO typed {sql}" if _typed_exists(con) else f"CREATE TEMP TABLE typed AS {sql}")
