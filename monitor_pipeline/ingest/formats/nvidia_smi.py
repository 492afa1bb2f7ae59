"""`nvidia-smi --query-gpu=... --format=csv[,nounits]` output: one row per GPU and sample."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from monitor_pipeline.ingest.formats.base import PythonFormat, StageBuilder
from monitor_pipeline.ingest.formats.options import ReadOptions
from monitor_pipeline.ingest.lines import iter_lines
from monitor_pipeline.warehouse.schema import RESOURCES

if TYPE_CHECKING:
    import pyarrow as pa
NA = {"", "[n/a]", "n/a", "[not supported]", "not supported", "[unknown error]", "[insufficient permissions]"}
# Query field -> canonical column; memory in MiB (other units converted).
FIELDS = {
    "timestamp": "timestamp",
    "utilization.gpu": "gpu_util_pct",
    "memory.used": "gpu_mem_used_mb",
    "memory.total": "gpu_mem_total_mb",
    "temperature.gpu": "temperature_c",
    "power.draw": "power_w",
    "hostname": "host",
}
TO_MIB = {"b": 1 / 1048576, "kib": 1 / 1024, "mib": 1.0, "gib": 1024.0}
_UNIT = re.compile(r"^\s*([-+0-9.eE]+)\s*([A-Za-z%]*)\s*$")


def _field(header: str) -> str:
    """`memory.used [MiB]` -> `memory.used`."""
    return header.split("[", 1)[0].strip().lower()


def _value(col: str, raw: str) -> str | None:
    v = raw.strip()
    if v.lower() in NA:
        return None
    if col == "timestamp":
        return v.replace("/", "-")
    if col in ("host",):
        return v
    m = _UNIT.match(v)
    if not m:
        return v  # left for the engine to reject as bad_type, with the value shown
    num, unit = m.group(1), m.group(2).lower()
    if col.startswith("gpu_mem") and unit in TO_MIB and unit != "mib":
        return repr(float(num) * TO_MIB[unit])
    return num


def is_header(text: str) -> bool:
    """An nvidia-smi CSV header line (`timestamp, name, utilization.gpu [%], ...`)."""
    if re.match(r"^\s*\d", text):
        return False
    cells = [_field(c) for c in text.split(",")]
    gpu = ("utilization.", "memory.", "temperature.", "power.", "clocks.", "pci.", "fan.", "enforced.", "ecc.")
    return len(cells) >= 2 and any(c.startswith(gpu) or c in ("uuid", "pstate", "driver_version") for c in cells)


def parse_nvidia_smi(path: Path, label: str, options: ReadOptions) -> Iterator[pa.Table]:
    """Stage tables of an nvidia-smi CSV; a repeated header (nvidia-smi -l) is a skipped line like the first.

    nvidia-smi writes its local time without an offset: the source's `time.timezone` places it (else UTC, which the
    ingest names in its warnings).
    """
    out = StageBuilder(RESOURCES, label)
    header: list[str] | None = None
    for line in iter_lines(path):
        text = line.text
        if text is not None and not text.strip():
            out.add(line.line_no, line.nbytes, line.last_no_newline, text, skip="blank")
            continue
        if text is not None and is_header(text):
            header = [_field(f) for f in next(csv.reader([text], skipinitialspace=True))]
            out.add(line.line_no, line.nbytes, line.last_no_newline, text, skip="header")
            continue
        err = None
        fields: list[str] = []
        if text is not None:
            try:
                fields = next(csv.reader([text], skipinitialspace=True), [])
            except csv.Error as exc:
                err = f"not a CSV record: {exc}"
        if text is None:
            err = "not valid UTF-8"
        elif header is None:
            err = "data before the header line"
        elif err is None and len(fields) != len(header):
            err = f"expected {len(header)} fields as in the header, found {len(fields)}"
        values: dict[str, str | None] = {}
        if err is None and header is not None:
            by_name = dict(zip(header, fields, strict=True))
            for q, col in FIELDS.items():
                if q in by_name:
                    values[col] = _value(col, by_name[q])
            idx = by_name.get("index", "").strip()
            values["device"] = (
                f"gpu{idx}" if idx else (by_name.get("uuid") or by_name.get("pci.bus_id") or "").strip() or None
            )
        out.add(line.line_no, line.nbytes, line.last_no_newline, text, bad_raw=line.bad_raw, error=err, values=values)
        if out.full():
            yield out.take()
    if len(out):
        yield out.take()


NVIDIA_SMI = PythonFormat(
    header_line=True,
    name="nvidia_smi",
    table="resources",
    parse=parse_nvidia_smi,
    description="nvidia-smi --query-gpu=... --format=csv output (units stripped, MiB)",
)
