"""The Azure LLM inference trace (Splitwise, 2023): TIMESTAMP,ContextTokens,GeneratedTokens."""

from __future__ import annotations

from monitor_pipeline.ingest.engines.dialect import Dialect
from monitor_pipeline.ingest.formats.base import LineFormat


def _fields(d: Dialect) -> tuple[str, dict[str, str]]:
    error = (
        f"CASE WHEN {d.split_count('text', ',')} <> 3 THEN "
        f"'expected 3 comma-separated fields: TIMESTAMP,ContextTokens,GeneratedTokens' END"
    )
    return error, {
        "timestamp": d.split_part("text", ",", 1),
        "input_tokens": d.split_part("text", ",", 2),
        "output_tokens": d.split_part("text", ",", 3),
        "operation": "'completion'",
    }


HEADER = r"\s*TIMESTAMP\s*,\s*ContextTokens\s*,\s*GeneratedTokens\s*"
AZURE_TRACE = LineFormat(
    name="azure_trace",
    table="requests",
    header=HEADER,
    fields=_fields,
    description="Azure LLM inference trace CSV: TIMESTAMP,ContextTokens,GeneratedTokens",
)
