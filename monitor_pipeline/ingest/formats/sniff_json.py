"""The sniffs of the JSON-based formats: JSON Lines requests, resource samples, OpenAI Batch and Responses, LiteLLM."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from monitor_pipeline.ingest.formats.options import ReadOptions, key_spec, parse_json_path
from monitor_pipeline.ingest.formats.sniff import Head, Verdict, sniffer
from monitor_pipeline.warehouse.schema import REQUESTS, RESOURCES, TableSchema

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


_CHAT_OBJECTS = ("chat.completion", "text_completion", "response")
# The built-in JSON formats known by their envelope: the test an object passes, and what the verdict calls them.
SIGNATURES: dict[str, tuple[Callable[[dict], bool], str]] = {
    "openai_batch": (
        lambda o: "custom_id" in o and ("response" in o or "error" in o),
        "OpenAI Batch API output lines",
    ),
    "openai_response": (
        lambda o: o.get("object") in _CHAT_OBJECTS and "model" in o,
        "raw chat.completion / response objects",
    ),
    "litellm": (
        lambda o: "call_type" in o and ("startTime" in o or "start_time" in o),
        "LiteLLM spend log rows",
    ),
}


def _signature_sniffer(name: str, test: Callable[[dict], bool], what: str) -> None:
    @sniffer(name)
    def sniff(head: Head) -> Verdict:
        return _signature_verdict(head, name, _share(head, test), what)


for _name, (_test, _what) in SIGNATURES.items():
    _signature_sniffer(_name, _test, _what)
