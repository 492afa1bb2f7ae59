"""Canonical tables: their columns, types, value ranges and the reason codes of quarantine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["timestamp", "string", "int", "double"]


@dataclass(frozen=True)
class Column:
    """One canonical column: its type, whether a row needs it, and its allowed range."""

    name: str
    type: ColumnType
    required: bool = False
    min: float | None = None
    max: float | None = None
    allowed: tuple[str, ...] | None = None
    # Other JSON keys that feed this column, in priority order; '/' descends into a nested object
    # ("usage/prompt_tokens"), dots are part of a key ("gen_ai.usage.input_tokens").
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSchema:
    """A canonical table: its columns and the column whose duplicates are quarantined."""

    name: str
    columns: tuple[Column, ...]
    unique_key: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def names(self) -> list[str]:
        """Column names in order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """The column called `name`."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


# Field names follow the OpenTelemetry GenAI semantic conventions where one exists; the aliases
# also accept the OpenAI usage object and common gateway spellings (LiteLLM, vLLM request logs).
REQUESTS = TableSchema(
    name="requests",
    unique_key="request_id",
    columns=(
        Column("timestamp", "timestamp", required=True, aliases=("@timestamp", "time", "ts", "start_time", "created")),
        Column("request_id", "string", aliases=("id", "gen_ai.response.id", "attributes/gen_ai.response.id")),
        Column(
            "model",
            "string",
            aliases=("gen_ai.request.model", "attributes/gen_ai.request.model", "gen_ai.response.model", "model_name"),
        ),
        Column("user_id", "string", aliases=("user", "enduser.id", "attributes/enduser.id")),
        Column("client_ip", "string", aliases=("client.address", "attributes/client.address", "remote_addr", "ip")),
        Column(
            "operation", "string", aliases=("gen_ai.operation.name", "attributes/gen_ai.operation.name", "endpoint")
        ),
        Column(
            "input_tokens",
            "int",
            min=0,
            aliases=(
                "gen_ai.usage.input_tokens",
                "attributes/gen_ai.usage.input_tokens",
                "usage/prompt_tokens",
                "usage/input_tokens",
                "prompt_tokens",
            ),
        ),
        Column(
            "output_tokens",
            "int",
            min=0,
            aliases=(
                "gen_ai.usage.output_tokens",
                "attributes/gen_ai.usage.output_tokens",
                "usage/completion_tokens",
                "usage/output_tokens",
                "completion_tokens",
            ),
        ),
        Column("latency_ms", "double", min=0, aliases=("duration_ms", "latency")),
        Column("ttft_ms", "double", min=0, aliases=("time_to_first_token_ms",)),
        Column("status", "string", allowed=("ok", "error")),
        Column("error_type", "string", aliases=("error.type", "attributes/error.type")),
        Column("http_status", "int", min=100, max=599, aliases=("http.response.status_code", "status_code")),
        Column("prompt", "string"),
        Column("completion", "string"),
        Column("prediction", "string"),
        Column("label", "string"),
        Column("score", "double"),
        Column("accuracy", "double", min=0, max=1),
        Column("batch_size", "int", min=1),
        # Which API key sent the request (a hash or alias, never the key): the `api_key` scope of the security rules.
        Column(
            "api_key_id", "string", aliases=("api_key_hash", "metadata/user_api_key_hash", "api_key_alias", "key_alias")
        ),
        # The source's fields that no column reads, as a JSON object (only with the source's `unmapped: keep`).
        Column("extra", "string"),
    ),
)

RESOURCES = TableSchema(
    name="resources",
    columns=(
        Column("timestamp", "timestamp", required=True, aliases=("@timestamp", "time", "ts")),
        Column("host", "string", aliases=("hostname", "Hostname")),
        Column("device", "string", aliases=("gpu", "gpu_index")),
        Column("gpu_util_pct", "double", min=0, max=100),
        Column("gpu_mem_used_mb", "double", min=0),
        Column("gpu_mem_total_mb", "double", min=0),
        Column("cpu_util_pct", "double", min=0, max=100),
        Column("mem_used_mb", "double", min=0),
        Column("mem_total_mb", "double", min=0),
        Column("temperature_c", "double", min=-50, max=150),
        Column("power_w", "double", min=0),
        # The Kubernetes workload on the device (dcgm-exporter's pod mapping), when known.
        Column("pod", "string"),
        Column("namespace", "string"),
        Column("container", "string"),
    ),
)

# The seed's online.log: `<date> <time> <request_num> <accuracy>`, one aggregate sample a line.
ONLINE_LOG = TableSchema(
    name="online_log",
    columns=(
        Column("timestamp", "timestamp", required=True),
        Column("request_num", "int", required=True, min=0),
        Column("accuracy", "double", required=True, min=0, max=1),
    ),
)

# The seed's offline.log: `<date> <time> <batch_size> <train_sample_num>`, one offline job a line.
OFFLINE_LOG = TableSchema(
    name="offline_log",
    columns=(
        Column("timestamp", "timestamp", required=True),
        Column("batch_size", "int", required=True, min=1),
        Column("train_sample_num", "int", required=True, min=0),
    ),
)

# One Prometheus sample: metric name, labels as sorted JSON, value.
GAUGES = TableSchema(
    name="gauges",
    columns=(
        Column("timestamp", "timestamp", required=True),
        Column("metric", "string", required=True),
        Column("labels", "string"),
        Column("value", "double", required=True),
    ),
)

# vLLM's periodic statistics lines (its server stdout), one row per line; a missing value is a key the line lacks.
# Shares (KV cache, prefix-cache hits) are fractions, as vLLM's gauges hold them.
ENGINE_LOG = TableSchema(
    name="engine_log",
    columns=(
        Column("timestamp", "timestamp", required=True),
        Column("engine_index", "string"),  # V1's `Engine 000`: the data-parallel engine
        Column("model", "string"),
        Column("running", "double", min=0),
        Column("waiting", "double", min=0),
        Column("swapped", "double", min=0),
        Column("kv_cache_usage", "double", min=0, max=1),
        Column("cpu_kv_cache_usage", "double", min=0, max=1),
        Column("prompt_throughput_toks_per_s", "double", min=0),
        Column("generation_throughput_toks_per_s", "double", min=0),
        Column("prefix_cache_hit_rate", "double", min=0, max=1),
        Column("cpu_prefix_cache_hit_rate", "double", min=0, max=1),
    ),
)
# engine_log column -> the vLLM gauge of the same value, so a log and a /metrics scrape are summarised alike.
ENGINE_LOG_GAUGES = {
    "running": "vllm:num_requests_running",
    "waiting": "vllm:num_requests_waiting",
    "swapped": "vllm:num_requests_swapped",
    "kv_cache_usage": "vllm:gpu_cache_usage_perc",
    "cpu_kv_cache_usage": "vllm:cpu_cache_usage_perc",
    "prompt_throughput_toks_per_s": "vllm:avg_prompt_throughput_toks_per_s",
    "generation_throughput_toks_per_s": "vllm:avg_generation_throughput_toks_per_s",
    "prefix_cache_hit_rate": "vllm:gpu_prefix_cache_hit_rate",
    "cpu_prefix_cache_hit_rate": "vllm:cpu_prefix_cache_hit_rate",
}

TABLES: dict[str, TableSchema] = {t.name: t for t in (REQUESTS, RESOURCES, ONLINE_LOG, OFFLINE_LOG, GAUGES, ENGINE_LOG)}

# Every quarantined line carries exactly one of these (the first that applies, in this order).
REASONS: dict[str, str] = {
    "line_too_long": "the line is longer than ingest.max_line_bytes",
    "malformed": "the line is not valid UTF-8 or cannot be parsed in the file's format",
    "truncated": "the file's last line has no newline and cannot be parsed (a write was cut off)",
    "missing_field": "a required field is absent or empty",
    "bad_type": "a field's value is not of the field's type",
    "bad_timestamp": "the timestamp cannot be parsed or is before 2000-01-01",
    "future_timestamp": "the timestamp is later than ingest time plus ingest.max_future_skew_s",
    "out_of_range": "a value is outside the field's allowed range or set",
    "duplicate": "the unique key was already seen earlier in the batch (first occurrence kept)",
}

# Status spellings mapped to the canonical ok/error.
STATUS_OK = ("ok", "success", "succeeded", "completed", "complete", "finished", "stop")
STATUS_ERROR = ("error", "failed", "failure", "fail", "timeout", "cancelled", "aborted", "rejected")
