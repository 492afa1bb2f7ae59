"""Format detection that refuses instead of guessing: each format scores a file's head, and a file no format claims
with confidence is refused with the closest formats named.

A score is 1.0 for a format's own signature (a known header, OpenAI's batch envelope, Prometheus text), about 0.9 for
a generic format whose fields map (a request CSV or JSONL), and low when the file is shaped like the format but its
fields do not map. The best score must reach ACCEPT; a format named explicitly (`--format`, `format:`) is refused
only when its own sniff finds the file is not of that kind at all (score 0), with the reason.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from monitor_pipeline.errors import InputError
from monitor_pipeline.ingest.formats.files import read_head
from monitor_pipeline.ingest.formats.options import ReadOptions, key_spec, parse_json_path
from monitor_pipeline.warehouse.schema import REQUESTS, RESOURCES, TableSchema

ACCEPT = 0.8
SAMPLE_LINES = 200
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


@dataclass
class Head:
    """The first lines of a file, decoded, with what detection needs computed once."""

    path: str
    name: str
    raw: bytes
    options: ReadOptions = field(default_factory=ReadOptions)

    @cached_property
    def lines(self) -> list[str]:
        """Up to SAMPLE_LINES non-blank lines that are valid UTF-8 (a line cut at the end of the head is dropped)."""
        parts = self.raw.split(b"\n")
        if len(self.raw) >= (64 << 10) and len(parts) > 1:
            parts = parts[:-1]
        out = []
        for p in parts:
            try:
                t = p.rstrip(b"\r").decode("utf-8")
            except UnicodeDecodeError:
                continue
            if t.strip():
                out.append(t)
            if len(out) >= SAMPLE_LINES:
                break
        return out

    @cached_property
    def undecodable(self) -> float:
        """The share of the head's characters that are not text: invalid UTF-8 or control characters (NUL, ...).

        Measured on characters, not lines: a log with a few corrupt bytes is text with bad lines (quarantined one by
        one); random or compressed bytes are mostly not text at all.
        """
        text = self.raw.decode("utf-8", errors="replace")
        if not text:
            return 0.0
        bad = sum(1 for c in text if c == "\ufffd" or (ord(c) < 32 and c not in "\t\n\r\f\v"))
        return bad / len(text)

    @cached_property
    def objects(self) -> list[dict | None]:
        """Each sample line parsed as a JSON object (None when it is not one)."""
        out: list[dict | None] = []
        for t in self.lines:
            try:
                v = json.loads(t)
            except ValueError:
                v = None
            out.append(v if isinstance(v, dict) else None)
        return out

    @property
    def dicts(self) -> list[dict]:
        """The sample lines that are JSON objects."""
        return [o for o in self.objects if o is not None]


@dataclass(frozen=True)
class Verdict:
    """One format's opinion of a file."""

    name: str
    score: float
    why: str = ""
    problem: str | None = None  # the file is of this format but cannot be read right without more configuration
    warnings: tuple[str, ...] = ()
    extra_keys: tuple[str, ...] = ()
    unmapped: bool = False  # shaped like the format, but its fields do not map (refused even when named)


Sniffer = Callable[[Head], Verdict]
SNIFFERS: dict[str, Sniffer] = {}


def sniffer(name: str) -> Callable[[Sniffer], Sniffer]:
    """Register a format's sniff."""

    def wrap(fn: Sniffer) -> Sniffer:
        SNIFFERS[name] = fn
        return fn

    return wrap


# --- JSON-based formats -------------------------------------------------------------------------------------------


def _get(obj: object, spec: str) -> object:
    for part in spec.split("/"):
        if part.startswith("[") and part.endswith("]") and isinstance(obj, list):
            i = int(part[1:-1])
            obj = obj[i] if i < len(obj) else None
        elif isinstance(obj, dict):
            obj = obj.get(part)
        else:
            return None
    return obj


def json_columns(
    schema: TableSchema, options: ReadOptions, base: dict[str, list[str]] | None = None
) -> dict[str, list[str]]:
    """Column -> key specs a JSON format reads (the canonical keys, or `base`, with the source's mapping applied)."""
    cols = dict(base or {c.name: [c.name, *c.aliases] for c in schema.columns})
    for col, path in options.fields:
        cols[col] = [key_spec(parse_json_path(path))]
    for col, _ in options.constants:
        cols.pop(col, None)
    return cols


def json_mapping(head: Head, schema: TableSchema, columns: dict[str, list[str]]) -> tuple[Counter, list[str]]:
    """How many sample objects give each column a value, and the top-level keys no column reads."""
    hits: Counter = Counter()
    seen: dict[str, None] = {}
    tops = {spec.split("/")[0] for specs in columns.values() for spec in specs}
    for o in head.dicts:
        for col, specs in columns.items():
            if any(_get(o, s) not in (None, "") for s in specs):
                hits[col] += 1
        for k in o:
            seen.setdefault(k, None)
    return hits, [k for k in seen if k not in tops]


def _json_verdict(
    head: Head, name: str, schema: TableSchema, base: dict[str, list[str]] | None, signature: float, what: str
) -> Verdict:
    """A JSON Lines format's verdict: `signature` when the sample is of its kind, with unmapped keys warned about."""
    n = len(head.dicts)
    columns = json_columns(schema, head.options, base)
    hits, unmapped = json_mapping(head, schema, columns)
    consts = dict(head.options.constants)
    has_time = hits["timestamp"] >= 0.8 * n or "timestamp" in consts
    others = [c for c in hits if c != "timestamp" and hits[c] >= 0.5 * n]
    warnings: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    if unmapped and head.options.unmapped == "warn":
        warnings = (
            f"{head.path}: keys no column reads (not stored): {', '.join(unmapped[:20])}"
            f"{' …' if len(unmapped) > 20 else ''}; map them with the source's `fields:` or keep them in "
            "`extra` with `unmapped: keep`",
        )
    if head.options.unmapped == "keep":
        extra = tuple(unmapped)
    if not has_time:
        tried = ", ".join(columns.get("timestamp", [])[:8]) or "(none)"
        return Verdict(
            name,
            min(signature, 0.3),
            f"no key gives the time (tried {tried}); keys seen: "
            f"{', '.join(list(dict.fromkeys(k for o in head.dicts for k in o))[:15])}; set `fields: "
            "{timestamp: <path>}` on the source",
            warnings=warnings,
            extra_keys=extra,
            unmapped=True,
        )
    if not others:
        return Verdict(
            name,
            min(signature, 0.4),
            f"only `timestamp` maps; keys no column reads: {', '.join(unmapped[:15])}",
            warnings=warnings,
            extra_keys=extra,
            unmapped=True,
        )
    return Verdict(name, signature, what, warnings=warnings, extra_keys=extra)


def _json_shape(head: Head) -> str | None:
    """Why the file is JSON but not JSON Lines, or None."""
    first = head.lines[0].strip() if head.lines else ""
    if first.startswith("[") or first in ("{", "{["):
        return (
            "a single JSON document (an array or a pretty-printed object), not JSON Lines with one object a "
            "line: convert it with `jq -c '.[]'` (an array) or `jq -c .` (objects)"
        )
    return None


def _json_share(head: Head) -> float:
    return len(head.dicts) / len(head.lines) if head.lines else 0.0


@sniffer("jsonl")
def _sniff_jsonl(head: Head) -> Verdict:
    share = _json_share(head)
    if share < 0.5:
        shape = _json_shape(head)
        return Verdict(
            "jsonl",
            0.0,
            shape or f"{len(head.dicts)} of {len(head.lines)} sampled lines are JSON objects",
            problem=shape,
        )
    if _resource_share(head) > 0.5 and not head.options.fields:
        return Verdict("jsonl", 0.3, "the objects hold GPU/CPU samples, not requests")
    return _json_verdict(head, "jsonl", REQUESTS, None, 0.9 * share, "request records in JSON Lines")


_RESOURCE_KEYS = ("gpu_util_pct", "cpu_util_pct", "gpu_mem_used_mb", "mem_used_mb")


def _resource_share(head: Head) -> float:
    d = head.dicts
    return sum(1 for o in d if any(k in o for k in _RESOURCE_KEYS) and "request_id" not in o) / len(d) if d else 0.0


@sniffer("resources_jsonl")
def _sniff_resources(head: Head) -> Verdict:
    share = _json_share(head)
    if share < 0.5:
        return Verdict("resources_jsonl", 0.0, _json_shape(head) or "not JSON Lines")
    if _resource_share(head) < 0.5:
        return Verdict("resources_jsonl", 0.2, "the objects hold no GPU/CPU sample keys")
    return _json_verdict(head, "resources_jsonl", RESOURCES, None, share, "GPU/CPU samples in JSON Lines")


def _json_format_columns(name: str) -> dict[str, list[str]]:
    from monitor_pipeline.ingest.formats import FORMATS

    cols = getattr(FORMATS[name], "json_columns", None)
    assert cols is not None, name
    return cols


def _signature_verdict(head: Head, name: str, share: float, what: str) -> Verdict:
    """A built-in JSON format recognised by its envelope in `share` of the sample."""
    if share < 0.8:
        return Verdict(name, 0.0, f"{what} in {share:.0%} of the sampled objects")
    return _json_verdict(head, name, REQUESTS, _json_format_columns(name), 1.0, what)


def _share(head: Head, test: Callable[[dict], bool]) -> float:
    d = head.dicts
    return sum(1 for o in d if test(o)) / len(head.lines) if head.lines else 0.0


@sniffer("openai_batch")
def _sniff_openai_batch(head: Head) -> Verdict:
    return _signature_verdict(
        head,
        "openai_batch",
        _share(head, lambda o: "custom_id" in o and ("response" in o or "error" in o)),
        "OpenAI Batch API output lines",
    )


@sniffer("openai_response")
def _sniff_openai_response(head: Head) -> Verdict:
    kinds = ("chat.completion", "text_completion", "response")
    return _signature_verdict(
        head,
        "openai_response",
        _share(head, lambda o: o.get("object") in kinds and "model" in o),
        "raw chat.completion / response objects",
    )


@sniffer("litellm")
def _sniff_litellm(head: Head) -> Verdict:
    return _signature_verdict(
        head,
        "litellm",
        _share(head, lambda o: "call_type" in o and ("startTime" in o or "start_time" in o)),
        "LiteLLM spend log rows",
    )


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


# --- Deciding -----------------------------------------------------------------------------------------------------


def head_of(path: str | Path, options: ReadOptions | None = None) -> Head:
    """The head of a local file for sniffing (gzip undone, byte-order mark dropped)."""
    return Head(path=str(path), name=Path(path).name, raw=read_head(path), options=options or ReadOptions())


def _binary(head: Head) -> str | None:
    if head.undecodable > 0.1:
        return (
            f"binary data, not a text log ({head.undecodable:.0%} of its first characters are not UTF-8 text); "
            "a compressed file other than gzip must be decompressed first"
        )
    return None


def _refuse(path: str, verdicts: list[Verdict]) -> InputError:
    close: list[Verdict] = []
    for v in sorted(verdicts, key=lambda v: -v.score):
        if v.why and all(v.why != c.why for c in close) and len(close) < 2 and (v.score > 0 or not close):
            close.append(v)
    named = "; ".join(f"{v.name} ({v.why})" for v in close)
    return InputError(
        f"{path}: cannot tell the format with confidence; closest: {named}. Pass --format NAME "
        "(see `monitor-pipeline formats`) or set `format:` and `fields:` on the source"
    )


def detect(path: str | Path, options: ReadOptions | None = None) -> Verdict:
    """The format of a local file, or InputError naming the closest formats (or why the file cannot be read)."""
    head = head_of(path, options)
    if not head.raw.strip():
        return Verdict("jsonl", 1.0, "an empty file")
    if why := _binary(head):
        raise InputError(f"{path}: {why}")
    verdicts = [s(head) for name, s in SNIFFERS.items()]
    best = max(verdicts, key=lambda v: v.score)
    if best.score < ACCEPT:
        raise _refuse(str(path), verdicts)
    if best.problem:
        raise InputError(f"{path}: {best.problem}")
    return best


def check(path: str | Path, name: str, options: ReadOptions | None = None) -> Verdict:
    """Confirm an explicitly named format: refused only when its sniff finds the file is not of that kind."""
    head = head_of(path, options)
    if not head.raw.strip():
        return Verdict(name, 1.0, "an empty file")
    if why := _binary(head):
        raise InputError(f"{path}: {why}")
    if b"\n" not in head.raw and len(head.raw) < (64 << 10):
        # One line still being written (a log just rotated): nothing to judge yet, and nothing is read before its
        # newline; a last line that never ends is quarantined as truncated by a batch read.
        return Verdict(name, 1.0, "a single line without its newline")
    sniff = SNIFFERS.get(name)
    if sniff is None:
        return Verdict(name, 1.0)
    verdict = sniff(head)
    if verdict.problem:
        raise InputError(f"{path}: {verdict.problem}")
    if verdict.unmapped:  # the file has the format's shape, but its fields do not map
        alt = max((s(head) for n, s in SNIFFERS.items() if n != name), key=lambda v: v.score)
        hint = f"; it looks like {alt.name} ({alt.why}): pass --format {alt.name}" if alt.score >= ACCEPT else ""
        raise InputError(f"{path}: read as {name}, {verdict.why}{hint}")
    if verdict.score == 0.0:  # not this format's shape: refused when another format clearly claims the file
        alt = max((s(head) for n, s in SNIFFERS.items() if n != name), key=lambda v: v.score)
        if alt.score >= ACCEPT and alt.problem:
            raise InputError(f"{path}: not {name} ({verdict.why}); {alt.problem}")
        if alt.score >= ACCEPT:
            raise InputError(
                f"{path}: not {name} ({verdict.why}); it looks like {alt.name} ({alt.why}): pass "
                f"--format {alt.name} or leave the format to detection"
            )
    return verdict
