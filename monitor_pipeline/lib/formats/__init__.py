"""One parser per log format, chosen by name or detected from a file's first lines."""

from __future__ import annotations

import re
from pathlib import Path

from monitor_pipeline.lib.errors import InputError
from monitor_pipeline.lib.formats.azure import AZURE_TRACE
from monitor_pipeline.lib.formats.base import Format, LineFormat, PythonFormat
from monitor_pipeline.lib.formats.csv import CSV
from monitor_pipeline.lib.formats.jsonl import JSONL, RESOURCES_JSONL
from monitor_pipeline.lib.formats.nvidia_smi import NVIDIA_SMI
from monitor_pipeline.lib.formats.prometheus import PROMETHEUS
from monitor_pipeline.lib.formats.seedlogs import LINE as SEED_LINE
from monitor_pipeline.lib.formats.seedlogs import OFFLINE_LOG, ONLINE_LOG

FORMATS: dict[str, Format] = {
    f.name: f for f in (JSONL, RESOURCES_JSONL, CSV, ONLINE_LOG, OFFLINE_LOG, AZURE_TRACE, NVIDIA_SMI, PROMETHEUS)
}

__all__ = ["FORMATS", "Format", "LineFormat", "PythonFormat", "detect_format", "get_format"]

_RESOURCE_KEYS = ("gpu_util_pct", "cpu_util_pct", "gpu_mem_used_mb", "mem_used_mb")
_PROM = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})?\s+\S+(\s+-?\d+)?\s*$")


def get_format(name: str) -> Format:
    """The format called `name`, or an error listing the known ones."""
    try:
        return FORMATS[name]
    except KeyError:
        raise InputError(f"unknown format {name!r}; known formats: {', '.join(sorted(FORMATS))}") from None


def _first_lines(path: Path, n: int = 5) -> list[str]:
    out: list[str] = []
    with open(path, "rb") as fh:
        for raw in fh:
            line = raw[:4096].decode("utf-8", errors="replace").strip()
            if line:
                out.append(line)
            if len(out) >= n:
                break
    return out


def detect_format(path: str | Path) -> str:
    """The name of the format of `path`, judged from its name and first non-empty lines."""
    p = Path(path)
    lines = _first_lines(p)
    if not lines:
        return "jsonl"  # an empty file: any line format reads it as zero records
    first = lines[0]
    if first.startswith("{"):
        if any(f'"{k}"' in first for k in _RESOURCE_KEYS) and '"request_id"' not in first:
            return "resources_jsonl"
        return "jsonl"
    if re.fullmatch(AZURE_TRACE.header or "", first):
        return "azure_trace"
    low = first.lower()
    if "utilization.gpu" in low or "memory.used" in low or ("timestamp" in low and "[mib]" in low):
        return "nvidia_smi"
    if first.startswith("# HELP") or first.startswith("# TYPE") or (_PROM.match(first) and "," not in first.split("{")[0]):
        return "prometheus"
    if re.fullmatch(SEED_LINE, first):
        name = p.name.lower()
        if "offline" in name:
            return "offline_log"
        if "online" in name:
            return "online_log"
        fourth = first.split()[-1]
        return "online_log" if ("." in fourth or fourth in ("0", "1")) else "offline_log"
    if "," in first:
        return "csv"
    raise InputError(f"{p}: cannot tell the format from its first line {first[:80]!r}; "
                     f"pass --format (one of {', '.join(sorted(FORMATS))})")
