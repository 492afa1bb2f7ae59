"""JSON Lines: one object a line, canonical keys or their OpenTelemetry GenAI / gateway aliases."""

from __future__ import annotations

from monitor_pipeline.lib.engines.dialect import Dialect
from monitor_pipeline.lib.formats.base import LineFormat
from monitor_pipeline.lib.schema import TABLES


def _jsonl(table: str, description: str) -> LineFormat:
    schema = TABLES[table]
    keys: list[str] = []
    index: dict[str, list[int]] = {}
    for c in schema.columns:
        for k in (c.name, *c.aliases):
            index.setdefault(c.name, []).append(len(keys))
            keys.append(k)

    def prelude(d: Dialect) -> dict[str, str]:
        return {"j": f"CASE WHEN {d.json_is_object('text')} THEN {d.json_get_many('text', keys)} END"}

    def fields(d: Dialect) -> tuple[str, dict[str, str]]:
        error = "CASE WHEN j IS NULL THEN 'not a JSON object' END"
        out = {}
        for name, idxs in index.items():
            parts = [d.list_get("j", i) for i in idxs]
            out[name] = parts[0] if len(parts) == 1 else f"COALESCE({', '.join(parts)})"
        return error, out

    return LineFormat(name=("jsonl" if table == "requests" else f"{table}_jsonl"), table=table,
                      description=description, fields=fields, prelude=prelude)


JSONL = _jsonl("requests", "request log, one JSON object a line (canonical keys, OTel GenAI and OpenAI usage aliases)")
RESOURCES_JSONL = _jsonl("resources", "resource samples, one JSON object a line (the collector's output)")
