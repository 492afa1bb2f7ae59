"""Follow growing logs: ingest only what was appended since the last incremental ingest into this warehouse."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile

from monitor_pipeline.errors import InputError
from monitor_pipeline.ingest.engines.base import IngestRequest, IngestResult, SourceFile
from monitor_pipeline.ingest.formats.base import has_header
from monitor_pipeline.ingest.incremental import CURSOR_COLUMNS, Cursor, extract, plan
from monitor_pipeline.ingest.request import is_remote


def load_cursors(engine) -> list[Cursor]:
    """Every cursor stored in the engine's warehouse."""
    from monitor_pipeline.ingest.engines.duckdb_connect import connect

    con = connect(engine.db_path, engine.memory_limit, engine.threads, engine.lock_timeout_s, engine.logger)
    try:
        rows = con.execute(f"SELECT {', '.join(CURSOR_COLUMNS)} FROM ingest_cursors").fetchall()
    finally:
        con.close()
    return [Cursor(*r) for r in rows]


def ingest_incremental(engine, request: IngestRequest) -> IngestResult:
    """Ingest the lines appended to `request`'s files since their cursors (DuckDB engine; the files must be local).

    Lines are numbered as in the whole file, a partial last line waits for its newline, and the tables end equal to
    one ingest of the files as they are now (ingest.incremental says how rotation and truncation are followed).
    """
    remote = [f.path for f in request.files if is_remote(f.path)]
    if remote:
        raise InputError(f"{remote[0]}: incremental ingestion follows local files only (read remote ones in batch)")
    by_path = {f.path: f for f in request.files}
    by_source: dict[str, SourceFile] = {}
    for f in request.files:
        by_source.setdefault(f.source, f)
    p = plan([(f.path, f.source, has_header(f.fmt)) for f in request.files], load_cursors(engine), request.now)
    tmp = tempfile.mkdtemp(prefix="monitor-incremental-")
    try:
        files, cursors, new_bytes, pending = [], dict(p.cursors), 0, 0
        for seg, c in p.segments:
            base = by_path.get(seg.path) or by_source[seg.source]
            ex = extract(seg, tmp, final=c.gz)
            cursors[c.label] = dataclasses.replace(c, read_bytes=ex.end, lines=c.lines + ex.lines, pending=ex.pending)
            new_bytes += ex.end - seg.start
            pending += ex.pending
            if ex.lines:
                files.append(
                    dataclasses.replace(
                        base,
                        path=ex.path,
                        label=seg.label,
                        source=seg.source,
                        first_line=seg.first_line,
                        header_lines=ex.header_lines,
                        from_day=c.last_day,
                    )
                )
        req = dataclasses.replace(
            request,
            files=tuple(files),
            partition=None,
            append=True,
            relabels=tuple(p.relabels),
            cursors=tuple(cursors.values()),
            dropped_cursors=tuple(p.dropped),
            warnings=(*request.warnings, *p.warnings),
        )
        result = engine.ingest(req)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    # A partial last line is normal for a log being written: counted in pending_bytes, not warned about.
    result.new_bytes, result.pending_bytes = new_bytes, pending
    return result
