"""A saved Prometheus text-format scrape (vLLM's or DCGM exporter's /metrics): one gauge row per sample."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from monitor_pipeline.ingest.engines.dialect import Dialect
from monitor_pipeline.ingest.formats.base import PythonFormat, StageBuilder
from monitor_pipeline.ingest.formats.options import ReadOptions
from monitor_pipeline.ingest.lines import iter_lines
from monitor_pipeline.warehouse.schema import GAUGES

if TYPE_CHECKING:
    import pyarrow as pa
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


@lru_cache(maxsize=1 << 16)
def labels_json(text: str) -> str | None:
    """The label set as sorted, compact JSON (None when malformed); cached: a scrape file repeats each series'
    label set once per scrape, and parsing it was half of the format's time."""
    labels = parse_labels(text)
    return None if labels is None else json.dumps(labels, sort_keys=True, separators=(",", ":"))


def scrape_time(path: Path, options: ReadOptions) -> str | None:
    """The time given to samples that carry none: the source's `time.scraped_at` (an ISO instant, or `mtime`)."""
    at = options.time.scraped_at
    if at == "mtime":
        return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).isoformat()
    return at


def parse_prometheus(path: Path, label: str, options: ReadOptions) -> Iterator[pa.Table]:
    """Stage tables of a scrape: comments and blanks are skipped lines; a sample without a timestamp gets the
    configured scrape time, or none (then it is quarantined as missing its timestamp: time is never invented)."""
    out = StageBuilder(GAUGES, label)
    at = scrape_time(path, options)
    for line in iter_lines(path):
        text = line.text
        if text is not None and not text.strip():
            out.add(line.line_no, line.nbytes, line.last_no_newline, text, skip="blank")
            continue
        if text is not None and text.lstrip().startswith("#"):
            out.add(line.line_no, line.nbytes, line.last_no_newline, text, skip="comment")
            continue
        err, f = None, {}
        m = _SAMPLE.match(text) if text is not None else None
        if text is None:
            err = "not valid UTF-8"
        elif not m:
            err = "not a sample line: expected `name{labels} value [timestamp_ms]`"
        else:
            labels = labels_json(m.group(2) or "")
            if labels is None:
                err = "malformed label set"
            else:
                ts = m.group(4)
                f = {
                    "metric": m.group(1),
                    "labels": labels,
                    "value": m.group(3),
                    "timestamp": ts or at,
                }  # milliseconds, as Prometheus writes
        out.add(line.line_no, line.nbytes, line.last_no_newline, text, bad_raw=line.bad_raw, error=err, values=f)
        if out.full():
            yield out.take()
    if len(out):
        yield out.take()


def has_sample_timestamps(lines: list[str]) -> bool | None:
    """Whether the sample lines among `lines` carry timestamps (None when there is no sample line)."""
    stamps = [bool(m.group(4)) for t in lines if not t.lstrip().startswith("#") and (m := _SAMPLE.match(t))]
    return all(stamps) if stamps else None


DCGM = {
    "DCGM_FI_DEV_GPU_UTIL": "gpu_util_pct",
    "DCGM_FI_DEV_FB_USED": "gpu_mem_used_mb",
    "DCGM_FI_DEV_GPU_TEMP": "temperature_c",
    "DCGM_FI_DEV_POWER_USAGE": "power_w",
}


def _label(d: Dialect, name: str) -> str:
    """One label's value from the sorted labels JSON ('' when absent)."""
    return d.regex_group("labels", f'"{name}":"((?:[^"\\\\]|\\\\.)*)"', 1)


def gauges_to_resources_sql(d: Dialect, gauges: str) -> str:
    """Pivot DCGM exporter gauges into `resources` rows (per timestamp, host and GPU or MIG instance); both engines.

    The node is `Hostname` (older exporters), `hostname` (current ones) or the scrape's `instance` without its
    port. A MIG instance (`GPU_I_ID`) is its own device `gpu<N>/mig<I>` with its own memory total (used + free +
    reserved of that instance): merging instances would mix the used memory of one with the total of another.
    """
    host = (
        f"COALESCE(NULLIF({_label(d, 'Hostname')}, ''), NULLIF({_label(d, 'hostname')}, ''), "
        f"NULLIF(regexp_replace({_label(d, 'instance')}, ':[0-9]+$', ''), ''))"
    )
    gpu, mig = _label(d, "gpu"), _label(d, "GPU_I_ID")
    pick = {col: f"MAX(CASE WHEN metric = '{m}' THEN value END)" for m, col in DCGM.items()}
    free = "MAX(CASE WHEN metric = 'DCGM_FI_DEV_FB_FREE' THEN value END)"
    reserved = "COALESCE(MAX(CASE WHEN metric = 'DCGM_FI_DEV_FB_RESERVED' THEN value END), 0)"
    k8s = ", ".join(f"MAX(NULLIF({k}, '')) AS {k}" for k in ("pod", "namespace", "container"))
    return (
        f"SELECT timestamp, h AS host, 'gpu' || g || CASE WHEN i <> '' THEN '/mig' || i ELSE '' END AS device, "
        f"{pick['gpu_util_pct']} AS gpu_util_pct, {pick['gpu_mem_used_mb']} AS gpu_mem_used_mb, "
        f"{pick['gpu_mem_used_mb']} + {free} + {reserved} AS gpu_mem_total_mb, "
        f"CAST(NULL AS DOUBLE) AS cpu_util_pct, CAST(NULL AS DOUBLE) AS mem_used_mb, "
        f"CAST(NULL AS DOUBLE) AS mem_total_mb, {pick['temperature_c']} AS temperature_c, "
        f"{pick['power_w']} AS power_w, {k8s}, partition_date "
        f"FROM (SELECT *, {host} AS h, {gpu} AS g, {mig} AS i, {_label(d, 'pod')} AS pod, "
        f"{_label(d, 'namespace')} AS namespace, {_label(d, 'container')} AS container "
        f"FROM {gauges} WHERE metric LIKE 'DCGM_FI_DEV_%') x "
        f"WHERE g <> '' GROUP BY timestamp, h, g, i, partition_date"
    )


PROMETHEUS = PythonFormat(
    name="prometheus",
    table="gauges",
    parse=parse_prometheus,
    description="a saved Prometheus scrape (vLLM, DCGM exporter /metrics): one gauge per sample; "
    "samples without a timestamp take the source's time.scraped_at (or --at)",
)
