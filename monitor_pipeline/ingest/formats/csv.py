"""CSV with a header row; header names map to canonical columns (case-insensitive, aliases, or the source's mapping).

Records are found line by line, so one broken record cannot swallow the file: a quoted field may span lines, but a
quote left open for more than `MAX_RECORD_LINES` lines (or to the end of the file), or a record whose field count
differs from the header's, quarantines its first line and reading resumes on the next one.
"""

from __future__ import annotations

import csv
import json
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from monitor_pipeline.ingest.formats.base import PythonFormat, StageBuilder
from monitor_pipeline.ingest.formats.options import ReadOptions
from monitor_pipeline.ingest.lines import RawLine, iter_lines
from monitor_pipeline.warehouse.schema import REQUESTS, TableSchema

if TYPE_CHECKING:
    import pyarrow as pa

MAX_RECORD_LINES = 2_000  # a quoted field spanning more lines than this is taken as a quote left open
MAX_RECORD_BYTES = 4 << 20


def norm(name: str) -> str:
    """A header cell compared loosely: case, spaces, dashes and unit suffixes (`latency [ms]`) do not matter."""
    return name.split("[", 1)[0].strip().lower().replace(" ", "_").replace("-", "_")


def header_map(
    header: list[str], schema: TableSchema = REQUESTS, fields: dict[str, str] | None = None
) -> dict[int, str]:
    """Header position -> canonical column: the source's mapping first, then the canonical name over an alias."""
    out: dict[int, str] = {}
    mapped = fields or {}
    by_norm = {norm(h): i for i, h in enumerate(header)}
    for col, name in mapped.items():
        pos = header.index(name) if name in header else by_norm.get(norm(name))
        if pos is not None:
            out[pos] = col
    names: dict[str, tuple[int, str]] = {}
    for c in schema.columns:
        if c.name in mapped:
            continue
        for rank, alias in enumerate((c.name, *c.aliases)):
            names.setdefault(norm(alias.split("/")[-1]), (rank, c.name))
    best: dict[str, tuple[int, int]] = {}
    for pos, h in enumerate(header):
        hit = names.get(norm(h))
        if pos not in out and hit and (hit[1] not in best or hit[0] < best[hit[1]][0]):
            best[hit[1]] = (hit[0], pos)
    out.update({pos: col for col, (_, pos) in best.items()})
    return out


def _parse(text: str) -> list[str] | None:
    try:
        return next(csv.reader([text]), [])
    except csv.Error:
        return None


def _open_quote(text: str) -> bool:
    """Whether a line leaves a quoted field open (an odd number of quote characters)."""
    return text.count('"') % 2 == 1


def parse_csv(path: Path, label: str, options: ReadOptions, schema: TableSchema = REQUESTS) -> Iterator[pa.Table]:
    """Stage tables for a CSV: one row per physical line (records, header, blanks, continuation lines)."""
    out = StageBuilder(schema, label)
    header: list[str] | None = None
    mapping: dict[int, str] = {}
    constants = dict(options.constants)
    keep_extra = options.unmapped == "keep" and "extra" in schema.names()
    todo: deque[RawLine] = deque()
    lines = iter_lines(path)

    def record(first: RawLine, rest: list[RawLine], text: str) -> None:
        nonlocal header, mapping
        rec = _parse(text)
        nbytes = first.nbytes + sum(r.nbytes + 1 for r in rest)
        if header is None and rec:
            header, mapping = rec, header_map(rec, schema, options.field_map())
            out.add(first.line_no, first.nbytes, first.last_no_newline, first.text, skip="header")
        elif rec == header:
            out.add(first.line_no, first.nbytes, first.last_no_newline, first.text, skip="header")
        else:
            err = None
            if rec is None:
                err = "not a CSV record"
            elif len(rec) != len(header or []):
                err = f"expected {len(header or [])} fields as in the header, found {len(rec)}"
            values: dict[str, str | None] = {}
            if err is None:
                assert rec is not None  # a record without an error was parsed
                values = {col: rec[i] for i, col in mapping.items()}
                values.update(constants)
                if keep_extra and header:
                    extra = {h: rec[i] for i, h in enumerate(header) if i not in mapping}
                    values["extra"] = json.dumps(extra, ensure_ascii=False) if extra else None
            last = rest[-1].last_no_newline if rest else first.last_no_newline
            out.add(first.line_no, nbytes, last, text, error=err, values=values)
        for r in rest:
            out.add(r.line_no, r.nbytes, r.last_no_newline, r.text, skip="continuation")

    def broken(first: RawLine, rest: list[RawLine]) -> None:
        """A quote opened on `first` never closed into a record: quarantine `first`, read the rest again."""
        out.add(
            first.line_no,
            first.nbytes,
            first.last_no_newline,
            first.text,
            error="a quoted field opened on this line is never closed (unterminated quote)",
        )
        todo.extendleft(reversed(rest))

    def next_line() -> RawLine | None:
        if todo:
            return todo.popleft()
        return next(lines, None)

    while (line := next_line()) is not None:
        if line.text is None:
            out.add(line.line_no, line.nbytes, line.last_no_newline, None, bad_raw=line.bad_raw)
        elif not line.text.strip():
            out.add(line.line_no, line.nbytes, line.last_no_newline, line.text, skip="blank")
        elif not _open_quote(line.text):
            record(line, [], line.text)
        else:
            # A quoted field continues on the next lines: gather them until the quotes balance.
            rest: list[RawLine] = []
            quotes, size = line.text.count('"'), line.nbytes
            done = False
            while not done:
                nxt = next_line()
                if nxt is None or nxt.text is None or len(rest) >= MAX_RECORD_LINES or size > MAX_RECORD_BYTES:
                    if nxt is not None:
                        todo.appendleft(nxt)
                    broken(line, rest)
                    break
                rest.append(nxt)
                quotes += nxt.text.count('"')
                size += nxt.nbytes + 1
                if quotes % 2 == 0:
                    text = "\n".join([line.text, *(r.text or "" for r in rest)])
                    rec = _parse(text)
                    if rec is not None and header is not None and len(rec) == len(header):
                        record(line, rest, text)
                    else:
                        broken(line, rest)
                    done = True
        if out.full():
            yield out.take()
    if len(out):
        yield out.take()


CSV = PythonFormat(
    header_line=True,
    name="csv",
    table="requests",
    parse=parse_csv,
    takes_mapping=True,
    description="request log as CSV with a header row naming canonical columns (or mapped by `fields`)",
)
