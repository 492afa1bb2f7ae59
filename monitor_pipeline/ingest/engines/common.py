"""What both engines (DuckDB, Spark) do per file: typing options, the line-skip SQL, the line-count check, warnings."""

from __future__ import annotations

import os
from collections.abc import Callable

from monitor_pipeline.errors import EngineError
from monitor_pipeline.ingest.engines.base import IngestRequest, SourceFile
from monitor_pipeline.ingest.engines.sql import TypingOptions
from monitor_pipeline.ingest.formats.base import LineFormat
from monitor_pipeline.ingest.formats.files import FileFacts


def shifted(stage: str, f: SourceFile) -> str:
    """A stage relation (any dialect) whose line numbers are the file's own: an incremental read starts at `f.first_line`."""
    shift = f.first_line - 1 - f.header_lines
    return stage if not shift else f"SELECT * REPLACE (line_no + {int(shift)} AS line_no) FROM ({stage}) shifted"


def typing_options(request: IngestRequest, f: SourceFile) -> TypingOptions:
    """The typing knobs for one file: the request's limits and defaults, the file's defaults on top."""
    return TypingOptions(
        now_iso=request.now.isoformat(),
        max_line_bytes=request.max_line_bytes,
        raw_cap=request.raw_cap,
        max_future_skew_s=request.max_future_skew_s,
        defaults={**request.defaults, **dict(f.defaults)},
        time=f.options.time,
    )


def line_skip_sql(d, fmt: LineFormat) -> str:
    """SQL naming why a decoded line is no record (blank, or the format's header on line 1), NULL for a record."""
    header = f" WHEN line_no = 1 AND {d.regex_full('text', fmt.header)} THEN 'header'" if fmt.header else ""
    blank = d.regex_full("text", r"[ \t]*")
    return f"CASE WHEN {blank} THEN 'blank'{header} END"


def check_line_count(label: str, facts: FileFacts, rows: int) -> None:
    """Every physical line of a file must have become exactly one stage row; anything else is a bug, not bad data."""
    if rows != facts.lines:
        raise EngineError(
            f"{label}: the file has {facts.lines} lines but {rows} were read; nothing was stored "
            "(this is a bug in monitor_pipeline: please report it with the file)"
        )


def naive_time_warning(label: str, n: int) -> str:
    """The warning for times read without an offset and taken as UTC."""
    return (
        f"{label}: {n:,} timestamps carry no UTC offset and were read as UTC; set `time.timezone` on the "
        "source (or --timezone) if they are local times"
    )


def file_progress(request: IngestRequest, progress: Callable[[int, int], None]) -> Callable[[SourceFile], None]:
    """Report each finished file's bytes to `progress` (files the OS cannot size count as 0 bytes)."""

    def size(path: str) -> int:
        try:
            return os.path.getsize(path)
        except OSError:
            return 0

    sizes = {f.label: size(f.path) for f in request.files}
    total, done = sum(sizes.values()), 0

    def advance(f: SourceFile) -> None:
        nonlocal done
        done += sizes.get(f.label, 0)
        progress(done, total)

    return advance
