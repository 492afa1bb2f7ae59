"""CSV with a header row; header names map to canonical columns (case-insensitive, aliases too)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from monitor_pipeline.lib.formats.base import PythonFormat, stage_arrow_schema
from monitor_pipeline.lib.schema import REQUESTS

if TYPE_CHECKING:
    import pyarrow as pa

BATCH = 50_000


def _norm(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def _header_map(header: list[str]) -> dict[int, str]:
    """Header position -> canonical column, the canonical name winning over an alias."""
    names: dict[str, tuple[int, str]] = {}
    for c in REQUESTS.columns:
        for rank, alias in enumerate((c.name, *c.aliases)):
            names.setdefault(_norm(alias.split("/")[-1]), (rank, c.name))
    best: dict[str, tuple[int, int]] = {}
    for pos, h in enumerate(header):
        hit = names.get(_norm(h))
        if hit and (hit[1] not in best or hit[0] < best[hit[1]][0]):
            best[hit[1]] = (hit[0], pos)
    return {pos: col for col, (_, pos) in best.items()}


def parse_csv(path: Path, label: str) -> Iterator[pa.Table]:
    """Stage tables for a request CSV; a record whose field count differs from the header is malformed."""
    import pyarrow as pa

    schema = stage_arrow_schema(REQUESTS)
    cols = REQUESTS.names()
    with open(path, "rb") as fb:
        data = fb.read()
    ends_with_nl = data.endswith(b"\n")
    text = data.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: dict[str, list] = {n: [] for n in schema.names}
    header: list[str] | None = None
    mapping: dict[int, str] = {}
    start = 1
    total_lines = text.count("\n") + (0 if ends_with_nl else 1)
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. NUL byte or a field larger than csv's limit
            rec, err = None, f"CSV error: {exc}"
        else:
            err = None
        line_no, start = start, reader.line_num + 1
        if header is None and rec is not None:
            header, mapping = rec, _header_map(rec)
            continue
        raw = ",".join(rec) if rec is not None else ""
        bad_utf8 = "\ufffd" in raw
        if rec is not None and not rec:
            continue  # blank line
        if err is None and rec is not None and len(rec) != len(header or []):
            err = f"expected {len(header or [])} fields as in the header, found {len(rec)}"
        rows["source_file"].append(label)
        rows["line_no"].append(line_no)
        rows["line_bytes"].append(len(raw.encode("utf-8", errors="replace")))
        rows["last_no_newline"].append(line_no == total_lines and not ends_with_nl)
        rows["text"].append(None if bad_utf8 else raw)
        rows["parse_error"].append(err)
        values = {mapping[i]: v for i, v in enumerate(rec or []) if i in mapping} if err is None else {}
        for c in cols:
            v = values.get(c)
            rows[f"f_{c}"].append(v if v not in ("", None) else None)
        if len(rows["line_no"]) >= BATCH:
            yield pa.Table.from_pydict(rows, schema=schema)
            rows = {n: [] for n in schema.names}
    if rows["line_no"]:
        yield pa.Table.from_pydict(rows, schema=schema)


CSV = PythonFormat(name="csv", table="requests", parse=parse_csv,
                   description="request log as CSV with a header row naming canonical columns")
