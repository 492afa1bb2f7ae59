"""The sniffs of the text and CSV formats: Prometheus, the seed logs, vLLM server logs, text logs, CSVs, nvidia-smi,
BurstGPT and the Azure trace."""

from __future__ import annotations

import csv
import re

from monitor_pipeline.ingest.formats.sniff import Head, Verdict, sniffer
from monitor_pipeline.warehouse.schema import REQUESTS

# vLLM's own lines (`INFO 03-06 17:59:09 api_server.py:528] …`, v1 prefixes `(APIServer pid=1) `) and the uvicorn
# access lines it prints between them (`INFO:     127.0.0.1:41450 - "GET /metrics HTTP/1.1" 200 OK`).
_VLLM_LOG = re.compile(
    r"^(?:\(\w+ pid=\d+\)\s+)?(?:(?:INFO|WARNING|ERROR|DEBUG|CRITICAL)\s+\d\d-\d\d \d\d:\d\d:\d\d"
    r"|(?:INFO|WARNING|ERROR):\s+\S+:\d+ - \")"
)
_TEXT_LOG = re.compile(
    r"^\[?\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d\S*\]?\s+\[?(?:INFO|WARN|WARNING|ERROR|DEBUG|TRACE|FATAL)\b"
)
_PROM_SAMPLE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?\s+(?:[-+]?[0-9.eE+-]+|[-+]?Inf|NaN)(?:\s+-?\d+)?\s*$")


# --- Text formats -------------------------------------------------------------------------------------------------


@sniffer("prometheus")
def _sniff_prometheus(head: Head) -> Verdict:
    from monitor_pipeline.ingest.formats.prometheus import has_sample_timestamps

    lines = head.lines
    samples = [t for t in lines if not t.lstrip().startswith("#") and _PROM_SAMPLE.match(t)]
    comments = [t for t in lines if t.lstrip().startswith("#")]
    if not samples or len(samples) + len(comments) < 0.9 * len(lines):
        return Verdict("prometheus", 0.0, f"{len(samples)} of {len(lines)} sampled lines are Prometheus samples")
    stamped = has_sample_timestamps(lines)
    problem = None
    if not stamped and head.options.time.scraped_at is None:
        problem = (
            "the Prometheus samples carry no timestamps, so the time of the scrape is unknown (a file's "
            "modification time moves with every copy): pass --at TIME (or --at mtime) or set "
            "`time: {scraped_at: <ISO time or mtime>}` on the source"
        )
    warnings: tuple[str, ...] = ()
    if stamped is False and head.options.time.scraped_at == "mtime":
        warnings = (
            f"{head.path}: samples without timestamps are dated by the file's modification time "
            "(time.scraped_at: mtime)",
        )
    return Verdict("prometheus", 1.0, "Prometheus text exposition", problem=problem, warnings=warnings)


@sniffer("online_log")
def _sniff_online(head: Head) -> Verdict:
    return _seed(head, "online_log")


@sniffer("offline_log")
def _sniff_offline(head: Head) -> Verdict:
    return _seed(head, "offline_log")


def _seed(head: Head, name: str) -> Verdict:
    from monitor_pipeline.ingest.formats.seedlogs import LINE

    lines = head.lines
    hits = [t for t in lines if re.fullmatch(LINE, t)]
    if not lines or len(hits) < 0.9 * len(lines):
        return Verdict(name, 0.0, f"{len(hits)} of {len(lines)} sampled lines are `<date> <time> <a> <b>`")
    low = head.name.lower()
    if "offline" in low or "online" in low:
        mine = name.split("_")[0] in low
    else:
        fourth = hits[0].split()[-1]
        online = "." in fourth or fourth in ("0", "1")
        mine = online == (name == "online_log")
    return Verdict(name, 1.0 if mine else 0.5, f"the seed's {name.replace('_', '.')}")


def _line_log(head: Head, name: str, pattern: re.Pattern, score: float, what: str, problem: str) -> Verdict:
    """A text log recognised by its line prefix in most sampled lines: named, and refused with `problem`."""
    hits = sum(1 for t in head.lines if pattern.match(t))
    if not head.lines or hits < 0.5 * len(head.lines):
        return Verdict(name, 0.0, f"not {what}")
    return Verdict(name, score, what, problem=problem)


@sniffer("vllm_log")
def _sniff_vllm_log(head: Head) -> Verdict:
    from monitor_pipeline.ingest.formats.vllm_log import year_warning

    what = "a vLLM server log (its statistics lines are read as vLLM's gauges)"
    hits = sum(1 for t in head.lines if _VLLM_LOG.match(t))
    if not head.lines or hits < 0.5 * len(head.lines):
        return Verdict("vllm_log", 0.0, "not a vLLM server log")
    if head.options.fields:
        return Verdict(
            "vllm_log",
            1.0,
            what,
            problem="a vLLM server log has no fields to map: drop the source's `fields:` (a `constants: {model: "
            "...}` names the model when the log does not)",
        )
    # Its times carry no year: which year they are read in is said, as a time zone assumed for naive times is.
    return Verdict("vllm_log", 1.0, what, warnings=(year_warning(head.path, head.options),))


@sniffer("text_log")
def _sniff_text_log(head: Head) -> Verdict:
    return _line_log(
        head,
        "text_log",
        _TEXT_LOG,
        0.85,
        "a timestamped text log",
        (
            "a free-text application log (`<time> <LEVEL> message`): no known request format; export the requests as "
            "JSON Lines or CSV and map their fields with the source's `fields:`"
        ),
    )


# --- CSV-based formats --------------------------------------------------------------------------------------------


def _csv_rows(head: Head) -> list[list[str]]:
    rows = []
    for t in head.lines:
        if t.count('"') % 2:
            continue  # a record that goes on past this line: not a sample of field counts
        try:
            rows.append(next(csv.reader([t])))
        except csv.Error:
            rows.append([])
    return rows


def _looks_like_header(cells: list[str]) -> bool:
    def named(c: str) -> bool:
        c = c.strip()
        return bool(c) and not re.fullmatch(r"[-+]?[0-9.,:/ TZ%eE]+", c)

    return len(cells) >= 2 and sum(named(c) for c in cells) >= 0.8 * len(cells)


@sniffer("csv")
def _sniff_csv(head: Head) -> Verdict:
    from monitor_pipeline.ingest.formats.csv import header_map

    rows = _csv_rows(head)
    if not rows or len(rows[0]) < 2:
        return Verdict("csv", 0.0, "the first line is not a header of comma-separated names")
    header = rows[0]
    if not _looks_like_header(header):
        return Verdict("csv", 0.0, f"the first line {head.lines[0][:60]!r} is not a header of column names")
    body = rows[1:]
    same = sum(1 for r in body if len(r) == len(header))
    if len(body) >= 5 and same < 0.6 * len(body):
        return Verdict("csv", 0.1, f"only {same} of {len(body)} sampled rows have the header's {len(header)} fields")
    mapping = header_map(header, REQUESTS, head.options.field_map())
    mapped = set(mapping.values()) | {c for c, _ in head.options.constants}
    unmapped = [h.strip() for i, h in enumerate(header) if i not in mapping]
    warnings: tuple[str, ...] = ()
    if unmapped and head.options.unmapped == "warn":
        warnings = (
            f"{head.path}: columns no field reads (not stored): {', '.join(unmapped[:20])}; map them with the "
            "source's `fields:` or keep them in `extra` with `unmapped: keep`",
        )
    if "timestamp" not in mapped:
        return Verdict(
            "csv",
            0.3,
            f"no column gives the time; columns: {', '.join(header[:15])}; set `fields: "
            "{timestamp: <column>}` on the source",
            warnings=warnings,
            unmapped=True,
        )
    if mapped == {"timestamp"}:
        return Verdict(
            "csv",
            0.4,
            f"the header maps only `timestamp`; unmapped columns: {', '.join(unmapped[:15])}",
            warnings=warnings,
            unmapped=True,
        )
    return Verdict("csv", 0.9, "a request CSV", warnings=warnings)


@sniffer("nvidia_smi")
def _sniff_nvidia_smi(head: Head) -> Verdict:
    from monitor_pipeline.ingest.formats.nvidia_smi import is_header

    if not head.lines or not is_header(head.lines[0]) or "timestamp" not in head.lines[0].lower():
        return Verdict("nvidia_smi", 0.0, "the first line is not an nvidia-smi --query-gpu header with a timestamp")
    # Its times are local without an offset: the ingest's warnings say they were read as UTC unless a zone is set.
    return Verdict("nvidia_smi", 1.0, "nvidia-smi --query-gpu CSV")


@sniffer("burstgpt")
def _sniff_burstgpt(head: Head) -> Verdict:
    from monitor_pipeline.ingest.formats.burstgpt import HEADER

    rows = _csv_rows(head)
    # Later releases add `Session ID` and `Elapsed time`: the columns of the first release must all be there.
    if not rows or not set(HEADER) <= {c.strip() for c in rows[0]}:
        return Verdict("burstgpt", 0.0, "no BurstGPT header (Timestamp,Model,Request tokens,Response tokens,...)")
    problem = None
    if head.options.time.origin is None:
        problem = (
            "a BurstGPT trace: its Timestamp counts seconds from the trace start, which the file does not "
            "say: set `time: {origin: <ISO time of the start>}` on the source or pass --origin"
        )
    return Verdict("burstgpt", 1.0, "a BurstGPT trace", problem=problem)


@sniffer("azure_trace")
def _sniff_azure(head: Head) -> Verdict:
    from monitor_pipeline.ingest.formats.azure import HEADER

    if head.lines and re.fullmatch(HEADER, head.lines[0]):
        return Verdict("azure_trace", 1.0, "the Azure LLM inference trace")
    return Verdict("azure_trace", 0.0, "no TIMESTAMP,ContextTokens,GeneratedTokens header")
