"""`nvidia-smi --query-gpu=... --format=csv[,nounits]` output: one row per GPU and sample."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from monitor_pipeline.lib.formats.base import PythonFormat, stage_arrow_schema
from monitor_pipeline.lib.schema import RESOURCES

if TYPE_CHECKING:
    import pyarrow as pa

BATCH = 50_000
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


def parse_nvidia_smi(path: Path, label: str) -> Iterator[pa.Table]:
    """Stage tables of an nvidia-smi CSV; a repeated header (nvidia-smi -l) is skipped like the first."""
    import pyarrow as pa

    schema = stage_arrow_schema(RESOURCES)
    rows: dict[str, list] = {n: [] for n in schema.names}
    header: list[str] | None = None
    with open(path, "rb") as fh:
        data = fh.read()
    lines = data.split(b"\n")
    last_no_nl = not data.endswith(b"\n")
    if not last_no_nl:
        lines = lines[:-1]
    for i, raw in enumerate(lines, start=1):
        raw = raw.rstrip(b"\r")
        try:
            text: str | None = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None and not text.strip():
            continue
        fields = next(csv.reader([text], skipinitialspace=True)) if text is not None else []
        if text is not None and "timestamp" in text.lower() and any("[" in f or "." in f for f in fields) \
                and not re.match(r"^\s*\d", text):
            header = [_field(f) for f in fields]
            continue
        err = None
        if text is None:
            err = "not valid UTF-8"
        elif header is None:
            err = "data before the header line"
        elif len(fields) != len(header):
            err = f"expected {len(header)} fields as in the header, found {len(fields)}"
        values: dict[str, str | None] = {}
        if err is None and header is not None:
            by_name = dict(zip(header, fields, strict=True))
            for q, col in FIELDS.items():
                if q in by_name:
                    values[col] = _value(col, by_name[q])
            idx = by_name.get("index", "").strip()
            values["device"] = f"gpu{idx}" if idx else (by_name.get("uuid") or by_name.get("pci.bus_id") or "").strip() or None
        rows["source_file"].append(label)
        rows["line_no"].append(i)
        rows["line_bytes"].append(len(raw))
        rows["last_no_newline"].append(last_no_nl and i == len(lines))
        rows["text"].append(text)
        rows["parse_error"].append(err)
        for c in RESOURCES.names():
            rows[f"f_{c}"].append(values.get(c))
        if len(rows["line_no"]) >= BATCH:
            yield pa.Table.from_pydict(rows, schema=schema)
            rows = {n: [] for n in schema.names}
    if rows["line_no"]:
        yield pa.Table.from_pydict(rows, schema=schema)


NVIDIA_SMI = PythonFormat(name="nvidia_smi", table="resources", parse=parse_nvidia_smi,
                          description="nvidia-smi --query-gpu=... --format=csv output (units stripped, MiB)")
