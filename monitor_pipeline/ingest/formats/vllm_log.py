"""A vLLM server's stdout (`vllm serve`, the OpenAI API server): its periodic statistics lines as `engine_log` rows.

vLLM logs, every few seconds, a line such as (V0 engine, `metrics.py`)
  INFO 03-06 18:00:00 metrics.py:360] Avg prompt throughput: 2688.8 tokens/s, ..., Running: 96 reqs, Swapped: 0 reqs,
  Pending: 390 reqs, GPU KV cache usage: 25.4%, CPU KV cache usage: 0.0%.
or (V1 engine, `loggers.py`, one line per data-parallel engine)
  (APIServer pid=1) INFO 08-02 11:36:53 [loggers.py:273] Engine 000: Avg prompt throughput: 0.8 tokens/s, ...,
  Running: 1 reqs, Waiting: 0 reqs, GPU KV cache usage: 0.0%, Prefix cache hit rate: 51.2%
Each line becomes one `engine_log` row (one row per physical line, like every format: the accounting of lines read
stays exact); its columns map to vLLM's own Prometheus gauges (schema.ENGINE_LOG_GAUGES), so the engine windows read
a log and a /metrics scrape of the same server alike; a percentage becomes a fraction, as the gauge holds it. Every
other line (startup, access log, warnings, tracebacks) is a skipped line, never a row and never lost.

The times carry no year and no zone: the year is the source's `time.year`, else the file's modification time's
(a line later in the year than that belongs to the year before: a December log read in January); the zone is the
source's `time.timezone`, else UTC, and the ingest's warnings say which.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from monitor_pipeline.ingest.formats.base import PythonFormat, StageBuilder
from monitor_pipeline.ingest.formats.options import ReadOptions
from monitor_pipeline.ingest.lines import iter_lines
from monitor_pipeline.warehouse.schema import ENGINE_LOG

if TYPE_CHECKING:
    import pyarrow as pa

# Why a line of the log is no row (stored in skipped_lines.reason): any line that is not a statistics line.
NOT_STATS = "not_stats"
# `(APIServer pid=41356) ` (V1 processes) then `INFO 08-02 11:36:53 [loggers.py:273] ` (V1) or
# `INFO 03-06 18:00:00 metrics.py:360] ` (V0), then the message.
_LINE = re.compile(
    r"^(?:\([\w.-]+ pid=\d+\)\s+)?(?:INFO|WARNING|ERROR|DEBUG|CRITICAL)\s+(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)"
    r"(?:[.,]\d+)?\s+\[?[\w./-]+:\d+\]\s?(.*)$"
)
_STATS = re.compile(r"^(?:Engine (\d+):\s+)?(Avg prompt throughput:.*)$")
# V0 with prefix caching logs its hit rates on a line of their own.
_PREFIX_RATES = re.compile(r"^Prefix cache hit rate: GPU: (.*), CPU: (.*?)\.?$")
_PIECE = re.compile(r"^([A-Za-z][A-Za-z0-9 ()/_-]*?):\s+(\S.*)$")
_NUMBER = r"(-?\d+(?:\.\d+)?)"
UNITS = {
    "tokens/s": re.compile(rf"^{_NUMBER}\s*tokens/s$"),
    "reqs": re.compile(r"^(\d+)\s*reqs$"),
    "%": re.compile(rf"^{_NUMBER}\s*%$"),
}
# Statistics key -> (engine_log column, unit written after the value). Keys not listed (newer vLLM adds some) are
# ignored: they have no gauge of their own to be named after.
KEYS: dict[str, tuple[str, str]] = {
    "Avg prompt throughput": ("prompt_throughput_toks_per_s", "tokens/s"),
    "Avg generation throughput": ("generation_throughput_toks_per_s", "tokens/s"),
    "Running": ("running", "reqs"),
    "Waiting": ("waiting", "reqs"),  # V1
    "Pending": ("waiting", "reqs"),  # V0's word for the same queue
    "Swapped": ("swapped", "reqs"),
    "GPU KV cache usage": ("kv_cache_usage", "%"),
    "CPU KV cache usage": ("cpu_kv_cache_usage", "%"),
    "Prefix cache hit rate": ("prefix_cache_hit_rate", "%"),
}
# Every statistics line has these; one missing means the line was cut (or is not what it seems).
REQUIRED = ("Avg prompt throughput", "Avg generation throughput", "Running", "GPU KV cache usage")
V0_REQUIRED = ("Swapped", "Pending", "CPU KV cache usage")  # a V0 line (it says Pending) has these too
HEAD_BYTES = 256 << 10


@dataclass(frozen=True)
class YearRule:
    """Which year a `MM-DD HH:MM:SS` time is in: a fixed one, or the latest one not after the file's mtime."""

    year: int | None  # from the source's time.year
    mtime: dt.datetime | None  # the file's modification time, a wall-clock reading in the source's zone

    def stamp(self, month: int, day: int, hms: tuple[int, int, int]) -> str:
        """The naive ISO time of a log time; ValueError when it is no date."""
        if self.year is not None:
            return dt.datetime(self.year, month, day, *hms).isoformat(sep=" ")
        assert self.mtime is not None
        year = self.mtime.year
        for y in (year, year - 1):  # a time after the mtime was written the year before (a December log in January)
            try:
                t = dt.datetime(y, month, day, *hms)
            except ValueError:
                continue  # 02-29 in a year that has none: the other year may have it
            if t <= self.mtime:
                return t.isoformat(sep=" ")
        raise ValueError(f"{month:02d}-{day:02d} is no date in {year - 1} or {year}")


def _zone(options: ReadOptions) -> dt.tzinfo:
    if options.time.timezone:
        from zoneinfo import ZoneInfo

        return ZoneInfo(options.time.timezone)
    return dt.UTC


def year_rule(path: str | Path, options: ReadOptions) -> YearRule:
    """The year rule of one file under the source's options (its mtime read in the source's zone)."""
    if options.time.year is not None:
        return YearRule(options.time.year, None)
    mtime = dt.datetime.fromtimestamp(os.stat(path).st_mtime, _zone(options)).replace(tzinfo=None)
    return YearRule(None, mtime)


def year_warning(path: str | Path, options: ReadOptions) -> str:
    """What the ingest says about the year it gave the file's times (they carry none)."""
    rule = year_rule(path, options)
    if rule.year is not None:
        return f"{path}: vLLM log times carry no year; read in {rule.year} (the source's time.year)"
    assert rule.mtime is not None
    y = rule.mtime.year
    return (
        f"{path}: vLLM log times carry no year; read in {y}, the year of the file's modification time "
        f"({rule.mtime:%Y-%m-%d %H:%M}), a time later in the year than that in {y - 1}; set `time.year` on the "
        "source if the file was copied or touched since it was written"
    )


_SERVED = re.compile(r"\bserved_model_name=([^,\s][^,]*)")
_MODEL = re.compile(r"""(?:\bmodel=|'model':\s*)'([^']+)'|--model[= ](\S+)""")


def model_from_head(path: str | Path) -> str | None:
    """The model name vLLM's Prometheus labels carry (`model_name`), when the file's head names it.

    The engine's config line gives the name the server publishes (`served_model_name=`, which is the model path
    unless `--served-model-name` is set); else the startup arguments' `model='...'`, `'model': '...'` or `--model`.
    """
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES).decode("utf-8", errors="replace")
    fallback = None
    for line in head.split("\n"):
        if "with config:" in line and (m := _SERVED.search(line)) and m.group(1).strip() != "None":
            return m.group(1).strip()
        if fallback is None and (m := _MODEL.search(line)):
            fallback = m.group(1) or m.group(2)
    return fallback


def _value(key: str, text: str) -> str:
    """A statistics value as the gauge holds it (a percentage as a fraction); ValueError naming the field."""
    unit = KEYS[key][1]
    m = UNITS[unit].match(text.strip())
    if not m:
        raise ValueError(f"{key}: {text.strip()[:40]!r} is not a number of {unit}")
    if unit == "%":
        return str(Decimal(m.group(1)) / 100)  # exact decimal: 25.4% is 0.254, not 0.25399999999999995
    return m.group(1)


def parse_stats(message: str) -> tuple[str | None, dict[str, str]] | None:
    """(engine index, {engine_log column: value}) of a statistics message, None when the message is no statistics.

    Raises ValueError, naming the field, for a statistics line that cannot be read (cut short, not a number).
    """
    if m := _PREFIX_RATES.match(message):
        return None, {
            "prefix_cache_hit_rate": _value("Prefix cache hit rate", m.group(1)),
            "cpu_prefix_cache_hit_rate": _value("Prefix cache hit rate", m.group(2)),
        }
    m = _STATS.match(message)
    if not m:
        return None
    engine = str(int(m.group(1))) if m.group(1) is not None else None
    body = m.group(2).rstrip().removesuffix(".")
    pairs: list[list[str]] = []
    for piece in body.split(", "):
        p = _PIECE.match(piece)
        if p:
            pairs.append([p.group(1), p.group(2)])
        elif pairs:
            pairs[-1][1] += ", " + piece  # a value holding ', ' (a key this reader does not know, or a cut line)
        else:
            raise ValueError(f"statistics line: cannot read {piece[:40]!r}")
    found = {k: v for k, v in pairs}
    need = REQUIRED + (V0_REQUIRED if "Pending" in found else ())
    missing = [k for k in need if k not in found]
    if not ("Waiting" in found or "Pending" in found):
        missing.append("Waiting")
    if missing:
        raise ValueError(f"statistics line without {', '.join(missing)} (cut short?)")
    return engine, {KEYS[k][0]: _value(k, v) for k, v in found.items() if k in KEYS}


def line_row(text: str, rule: YearRule, model: str | None) -> dict[str, str | None] | str | None:
    """The engine_log row of one line of the log, an error text when it is a statistics line that cannot be read, or
    None when it is no statistics line."""
    m = _LINE.match(text)
    if not m:
        return None
    try:
        stats = parse_stats(m.group(6))
        if stats is None:
            return None
        month, day, *hms = (int(g) for g in m.groups()[:5])
        try:
            ts = rule.stamp(month, day, (hms[0], hms[1], hms[2]))
        except ValueError as exc:
            raise ValueError(f"timestamp: {exc}") from None
    except ValueError as exc:
        return str(exc)
    engine, values = stats
    return {"timestamp": ts, "engine_index": engine, "model": model, **values}


def parse_vllm_log(path: Path, label: str, options: ReadOptions) -> Iterator[pa.Table]:
    """Stage tables of a vLLM server log: one engine_log row per statistics line, every other line skipped
    (`not_stats`, or `blank`); a statistics line that cannot be read is one quarantined row whose error names the
    field."""
    out = StageBuilder(ENGINE_LOG, label)
    # `label` is the source file's own path: `path` may be a decompressed temporary copy with a fresh mtime.
    rule = year_rule(label if os.path.isfile(label) else path, options)
    # The source's constant wins over the file, as constants do in every format.
    model = dict(options.constants).get("model") or model_from_head(path)
    for line in iter_lines(path):
        text = line.text
        at = (line.line_no, line.nbytes, line.last_no_newline)
        if text is None:  # not valid UTF-8: unread, it may have been a statistics line, so it is quarantined
            out.add(*at, None, bad_raw=line.bad_raw)
        elif not text.strip():
            out.add(*at, text, skip="blank")
        else:
            row = line_row(text, rule, model)
            if row is None:
                out.add(*at, text, skip=NOT_STATS)
            elif isinstance(row, str):
                out.add(*at, text, error=row)
            else:
                out.add(*at, text, values=row)
        if out.full():
            yield out.take()
    if len(out):
        yield out.take()


VLLM_LOG = PythonFormat(
    name="vllm_log",
    table="engine_log",
    parse=parse_vllm_log,
    description="a vLLM server's stdout: one engine_log row per statistics line (running, waiting, KV cache, ...); "
    "other lines skipped; times without a year take the source's time.year (or the file's mtime)",
    takes_mapping=True,  # only `constants: {model: ...}`, the model column (the sniffer refuses `fields`)
)
