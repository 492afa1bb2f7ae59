"""A saved Prometheus text-format scrape (vLLM's or DCGM exporter's /metrics): one gauge row per sample."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from monitor_pipeline.lib.engines.dialect import Dialect
from monitor_pipeline.lib.formats.base import PythonFormat, stage_arrow_schema
from monitor_pipeline.lib.schema import GAUGES

if TYPE_CHECKING:
    import pyarrow as pa

BATCH = 50_000
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+(-?\d+))?\s*$")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


def parse_labels(text: str) -> dict[str, str] | None:
    """`a="x",b="y\\"z"` -> {"a": "x", "b": 'y"z'}; None when the label set is malformed."""
    out: dict[str, str] = {}
    pos = 0
    text = text.rstrip().rstrip(",")
    while pos < len(text):
        m = _LABEL.match(text, pos)
        if not m:
            return None
        out[m.group(1)] = re.sub(r'\\[\\"n]', lambda e: _UNESCAPE[e.group(0)], m.group(2))
        pos = m.end()
    return out


def parse_prometheus(path: Path, label: str) -> Iterator[pa.Table]:
    """Stage tables of a scrape; comments and blanks are skipped, a sample without a timestamp gets the file's mtime."""
    import pyarrow as pa

    schema = stage_arrow_schema(GAUGES)
    mtime = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).isoformat()
    rows: dict[str, list] = {n: [] for n in schema.names}
    data = path.read_bytes()
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
        if text is not None and (not text.strip() or text.lstrip().startswith("#")):
            continue
        err, f = None, {}
        m = _SAMPLE.match(text) if text is not None else None
        if text is None:
            err = "not valid UTF-8"
        elif not m:
            err = "not a sample line: expected `name{labels} value [timestamp_ms]`"
        else:
            labels = parse_labels(m.group(2) or "")
            if labels is None:
                err = "malformed label set"
            else:
                f = {"metric": m.group(1), "labels": json.dumps(labels, sort_keys=True, separators=(",", ":")),
                     "value": m.group(3), "timestamp": m.group(4) or mtime}
        rows["source_file"].append(label)
        rows["line_no"].append(i)
        rows["line_bytes"].append(len(raw))
        rows["last_no_newline"].append(last_no_nl and i == len(lines))
        rows["text"].append(text)
        rows["parse_error"].append(err)
        for c in GAUGES.names():
            rows[f"f_{c}"].append(f.get(c))
        if len(rows["line_no"]) >= BATCH:
            yield pa.Table.from_pydict(rows, schema=schema)
            rows = {n: [] for n in schema.names}
    if rows["line_no"]:
        yield pa.Table.from_pydict(rows, schema=schema)


DCGM = {
    "DCGM_FI_DEV_GPU_UTIL": "gpu_util_pct",
    "DCGM_FI_DEV_FB_USED": "gpu_mem_used_mb",
    "DCGM_FI_DEV_GPU_TEMP": "temperature_c",
    "DCGM_FI_DEV_POWER_USAGE": "power_w",
}


def gauges_to_resources_sql(d: Dialect, gauges: str) -> str:
    """Pivot DCGM exporter gauges into `resources` rows (per timestamp, host and GPU); both engines."""
    host = d.regex_group("labels", '"Hostname":"([^"]*)"', 1)
    gpu = d.regex_group("labels", '"gpu":"([^"]*)"', 1)
    pick = {col: f"MAX(CASE WHEN metric = '{m}' THEN value END)" for m, col in DCGM.items()}
    free = "MAX(CASE WHEN metric = 'DCGM_FI_DEV_FB_FREE' THEN value END)"
    return (
        f"SELECT timestamp, NULLIF(h, '') AS host, 'gpu' || g AS device, {pick['gpu_util_pct']} AS gpu_util_pct, "
        f"{pick['gpu_mem_used_mb']} AS gpu_mem_used_mb, {pick['gpu_mem_used_mb']} + {free} AS gpu_mem_total_mb, "
        f"CAST(NULL AS DOUBLE) AS cpu_util_pct, CAST(NULL AS DOUBLE) AS mem_used_mb, "
        f"CAST(NULL AS DOUBLE) AS mem_total_mb, {pick['temperature_c']} AS temperature_c, "
        f"{pick['power_w']} AS power_w, partition_date "
        f"FROM (SELECT *, {host} AS h, {gpu} AS g FROM {gauges} WHERE metric LIKE 'DCGM_FI_DEV_%') x "
        f"WHERE g <> '' GROUP BY timestamp, h, g, partition_date"
    )


PROMETHEUS = PythonFormat(name="prometheus", table="gauges", parse=parse_prometheus,
                          description="a saved Prometheus scrape (vLLM, DCGM exporter /metrics): one gauge per sample")
