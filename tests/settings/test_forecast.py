"""The monitored series are visible in configs/pipeline.yaml; the model's default is the same list."""

from __future__ import annotations

import yaml
from paths import ROOT

from monitor_pipeline.settings import DEFAULT_CONFIG, load_config
from monitor_pipeline.settings.forecast import ForecastingConfig, default_series


def test_configs_pipeline_yaml_lists_every_series_with_its_thresholds():
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text())["forecasting"]["series"]
    series = load_config(DEFAULT_CONFIG, env={}).forecasting.series
    assert (
        [s["name"] for s in raw]
        == [s.name for s in series]
        == [
            "count",
            "error_rate",
            "latency_p95_ms",
            "output_tokens_per_s",
            "input_tokens",
            "gpu_mem_used_share",
            "gpu_util_pct",
            "kv_cache_usage",
            "waiting",
            "ttft_p95_s",
        ]
    )
    by_name = {s.name: s for s in series}
    assert by_name["error_rate"].upper == 0.05
    assert (by_name["gpu_mem_used_share"].upper, by_name["gpu_mem_used_share"].min_deviation) == (0.9, 0.02)
    assert (by_name["kv_cache_usage"].table, by_name["kv_cache_usage"].upper) == ("engine_windows", 0.98)
    # a config that leaves `series` out monitors the same series (README: the default is configs/pipeline.yaml's list)
    assert series == default_series() == ForecastingConfig().series


def test_the_production_overlay_monitors_the_same_series():
    prod = load_config(ROOT / "configs" / "production" / "pipeline.yaml", env={})
    assert prod.forecasting.series == load_config(DEFAULT_CONFIG, env={}).forecasting.series
