"""Which `/metrics` names of vLLM (v0 and v1), SGLang and TGI carry each serving signal.

Each signal lists its sources in order of preference; within one window and instance the first one present
is used and the others are ignored, so a server that exports an old and a new name for one thing (vLLM 0.7-0.9
export both `gpu_cache_usage_perc` and `kv_cache_usage_perc`) is never counted twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["gauge", "counter", "histogram"]
# How samples of several series of one instance at one time combine: queue lengths add up (per LoRA adapter,
# per data-parallel rank), a usage share is the fullest one.
Combine = Literal["sum", "max"]


@dataclass(frozen=True)
class Source:
    """One metric that carries a signal: its name (a histogram's without `_bucket`), kind and how it combines."""

    metric: str
    kind: Kind
    combine: Combine = "sum"
    scale: float = 1.0  # multiplies the value (e.g. a percentage to a fraction)


def _g(metric: str, combine: Combine = "sum", scale: float = 1.0) -> Source:
    return Source(metric, "gauge", combine, scale)


def _c(metric: str) -> Source:
    return Source(metric, "counter")


def _h(metric: str) -> Source:
    return Source(metric, "histogram")


# Signal -> sources. Gauges give `<signal>_mean/_max`, counters `<signal>_per_s`, histograms the quantiles below.
SIGNALS: dict[str, tuple[Source, ...]] = {
    "running": (_g("vllm:num_requests_running"), _g("sglang:num_running_reqs"), _g("tgi_batch_current_size")),
    "waiting": (_g("vllm:num_requests_waiting"), _g("sglang:num_queue_reqs"), _g("tgi_queue_size")),
    "kv_cache_usage": (
        _g("vllm:kv_cache_usage_perc", "max"),
        _g("vllm:gpu_cache_usage_perc", "max"),
        _g("sglang:token_usage", "max"),
    ),
    "preemptions": (_c("vllm:num_preemptions_total"), _c("sglang:num_retracted_requests_total")),
    "prompt_tokens": (
        _c("vllm:prompt_tokens_total"),
        _c("sglang:prompt_tokens_total"),
        _c("tgi_request_input_length_sum"),
    ),
    "generation_tokens": (
        _c("vllm:generation_tokens_total"),
        _c("sglang:generation_tokens_total"),
        _c("tgi_request_generated_tokens_sum"),
    ),
    # Fallbacks for throughput where no token counter exists (vLLM's stats log lines, SGLang's gauge).
    "prompt_throughput": (_g("vllm:avg_prompt_throughput_toks_per_s"),),
    "generation_throughput": (_g("vllm:avg_generation_throughput_toks_per_s"), _g("sglang:gen_throughput")),
    "requests": (
        _c("vllm:request_success_total"),
        _c("sglang:num_requests_total"),
        _c("tgi_request_success"),
        _c("vllm:e2e_request_latency_seconds_count"),
    ),
    "prefix_cache_queries": (_c("vllm:prefix_cache_queries_total"),),
    "prefix_cache_hits": (_c("vllm:prefix_cache_hits_total"),),
    "prefix_cache_hit_rate": (
        _g("vllm:gpu_prefix_cache_hit_rate", "max"),
        _g("sglang:cache_hit_rate", "max"),
    ),
    "ttft": (_h("vllm:time_to_first_token_seconds"), _h("sglang:time_to_first_token_seconds")),
    # Per-request time per output token first; the per-token inter-token latency where only it exists.
    "tpot": (
        _h("vllm:request_time_per_output_token_seconds"),
        _h("vllm:time_per_output_token_seconds"),
        _h("sglang:time_per_output_token_seconds"),
        _h("tgi_request_mean_time_per_token_duration"),
        _h("vllm:inter_token_latency_seconds"),
        _h("sglang:inter_token_latency_seconds"),
    ),
    "e2e": (
        _h("vllm:e2e_request_latency_seconds"),
        _h("sglang:e2e_request_latency_seconds"),
        _h("tgi_request_duration"),
    ),
    "queue_time": (
        _h("vllm:request_queue_time_seconds"),
        _h("sglang:queue_time_seconds"),
        _h("tgi_request_queue_duration"),
    ),
}

QUANTILES: dict[str, tuple[float, ...]] = {
    "ttft": (0.5, 0.95, 0.99),
    "tpot": (0.5, 0.95),
    "e2e": (0.95,),
    "queue_time": (0.95,),
}

# The serving engine a metric name belongs to, by prefix.
PREFIXES = {"vllm:": "vllm", "sglang:": "sglang", "tgi_": "tgi"}


def serving_engine(metric: str) -> str | None:
    """'vllm', 'sglang' or 'tgi' for a metric of that server, None for any other (DCGM, node exporter)."""
    for prefix, name in PREFIXES.items():
        if metric.startswith(prefix):
            return name
    return None


def metric_names() -> set[str]:
    """Every stored metric name the engine windows read (histograms as their `_bucket` series)."""
    out = set()
    for sources in SIGNALS.values():
        for s in sources:
            out.add(s.metric + "_bucket" if s.kind == "histogram" else s.metric)
    return out


def _quantile_columns() -> list[str]:
    return [f"{sig}_p{round(q * 100)}_s" for sig, qs in QUANTILES.items() for q in qs]


# engine_windows: one row per window, serving engine, instance, data-parallel engine index and model.
KEY_COLUMNS = ("window_size", "window_start", "serving_engine", "instance", "engine_index", "model")
VALUE_COLUMNS = (
    "samples",
    "running_mean",
    "running_max",
    "waiting_mean",
    "waiting_max",
    "kv_cache_usage_mean",
    "kv_cache_usage_max",
    "preemptions_per_s",
    "prompt_tokens_per_s",
    "generation_tokens_per_s",
    "requests_per_s",
    "prefix_cache_hit_rate",
    *_quantile_columns(),
)
