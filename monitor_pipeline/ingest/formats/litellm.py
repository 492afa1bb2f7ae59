"""LiteLLM proxy spend logs (the SpendLogs row / StandardLoggingPayload), one JSON object a line."""

from __future__ import annotations

from monitor_pipeline.ingest.engines.dialect import Dialect
from monitor_pipeline.ingest.formats.jsonl import json_lines


def _ms_between(start: str, end: str):
    """Milliseconds from one logged time to another (both read the same way, so their zone does not matter)."""

    def sql(d: Dialect, value) -> str:
        a, b = d.ts_to_epoch_us(d.parse_ts(value(start))), d.ts_to_epoch_us(d.parse_ts(value(end)))
        return f"CAST(CAST(({b} - {a}) AS DOUBLE) / 1000 AS STRING)"

    return (start, end), sql


# `startTime`/`endTime`/`completionStartTime` are written without an offset (the proxy's clock): the ingest names
# that assumption in its warnings unless the source sets time.timezone. `api_key` is LiteLLM's hash of the key.
LITELLM = json_lines(
    "litellm",
    "requests",
    "LiteLLM proxy spend logs (JSONL of SpendLogs rows): request_id, startTime/endTime, model, "
    "prompt/completion tokens, status, api_key hash",
    columns={
        "timestamp": ["startTime", "start_time"],
        "request_id": ["request_id", "id"],
        "model": ["model", "model_group"],
        "user_id": ["end_user", "user"],
        "client_ip": ["requester_ip_address"],
        "operation": ["call_type"],
        "input_tokens": ["prompt_tokens"],
        "output_tokens": ["completion_tokens"],
        "status": ["status"],
        "error_type": ["error_str"],
        "api_key_id": ["api_key", "metadata/user_api_key_hash"],
        "prompt": ["messages"],
        "completion": ["response"],
    },
    derived={
        "latency_ms": _ms_between("startTime", "endTime"),
        "ttft_ms": _ms_between("startTime", "completionStartTime"),
    },
)
