"""Forecasting: the monitored series and their thresholds, the forecasters, anomaly scoring, GPU capacity."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from monitor_pipeline.settings.base import Strict

ForecastModel = Literal["seasonal_naive", "arima", "lstm", "gru"]
FORECAST_MODELS: tuple[ForecastModel, ...] = ("seasonal_naive", "arima", "lstm", "gru")
CapacityModel = Literal["linear", "random_forest", "gradient_boosting"]
CAPACITY_MODELS: tuple[CapacityModel, ...] = ("linear", "random_forest", "gradient_boosting")
ENGINE_CAPACITY_MODELS: tuple[CapacityModel, ...] = ("linear",)


class SeriesConfig(Strict):
    """One monitored series (or one per `by` group) aggregated from a windows table."""

    name: str = Field(description="series name; the key is <requests|resources>.<name>{by=value,...}")
    table: Literal["request_windows", "resource_windows", "engine_windows"]
    value: str = Field(description="SQL aggregate over the table's columns per window, e.g. sum(requests)")
    by: list[str] = Field(default_factory=list, description="one series per distinct value of these columns")
    where: str | None = Field(None, description="SQL filter on the table, e.g. device LIKE 'gpu%'")
    fill: Literal["zero", "interpolate"] = Field(
        "interpolate", description="missing windows: 0 (counts) or interpolated"
    )
    upper: float | None = Field(None, description="static threshold: a value above it is a critical anomaly")
    lower: float | None = Field(None, description="static threshold: a value below it is a critical anomaly")
    min_deviation: float | None = Field(
        None,
        ge=0,
        description="a window is anomalous only when it is at least this "
        "far from its forecast (series units), whatever its z",
    )
    models: list[ForecastModel] | None = Field(
        None, description="models compared on this series (default: forecasting.models)"
    )


def default_series() -> list[SeriesConfig]:
    """The series of a config that leaves `forecasting.series` out; configs/pipeline.yaml lists them, commented."""
    # Per-device GPU series are many and smooth: the baseline and ARIMA cover them; the RNNs train on request series.
    gpu = {
        "table": "resource_windows",
        "by": ["host", "device"],
        "where": "device LIKE 'gpu%'",
        "models": ["seasonal_naive", "arima"],
    }
    # The serving engines' signals, per model (all of a model's instances together).
    engine = {"table": "engine_windows", "by": ["model"], "models": ["seasonal_naive", "arima"]}
    return [
        SeriesConfig(name="count", table="request_windows", value="sum(requests)", fill="zero"),
        SeriesConfig(
            name="error_rate", table="request_windows", value="sum(requests * error_rate) / sum(requests)", upper=0.05
        ),
        SeriesConfig(name="latency_p95_ms", table="request_windows", value="max(latency_p95_ms)", by=["model"]),
        SeriesConfig(name="output_tokens_per_s", table="request_windows", value="sum(output_tokens_per_s)"),
        SeriesConfig(name="input_tokens", table="request_windows", value="sum(input_tokens) / sum(requests)"),
        SeriesConfig(
            name="gpu_mem_used_share",
            value="avg(gpu_mem_used_mb_mean / nullif(gpu_mem_total_mb_mean, 0))",
            upper=0.9,
            min_deviation=0.02,
            **gpu,
        ),
        SeriesConfig(name="gpu_util_pct", value="avg(gpu_util_pct_mean)", **gpu),
        SeriesConfig(name="kv_cache_usage", value="max(kv_cache_usage_max)", upper=0.98, min_deviation=0.05, **engine),
        SeriesConfig(name="waiting", value="sum(waiting_max)", min_deviation=5, **engine),
        SeriesConfig(name="ttft_p95_s", value="max(ttft_p95_s)", min_deviation=0.1, **engine),
    ]


class ForecastingConfig(Strict):
    """Forecasters trained on window series, backtested, the best registered as champion; anomaly scoring."""

    window: Literal["5m", "1h"] = Field("5m", description="which windows to forecast")
    history_days: int = Field(30, ge=1, description="days of windows up to the partition used for training")
    horizon: int = Field(12, ge=1, description="steps ahead forecast and backtested")
    folds: int = Field(8, ge=1, description="rolling-origin backtest origins")
    models: list[ForecastModel] = Field(
        default_factory=lambda: list(FORECAST_MODELS), description="models compared per series"
    )
    epochs: int = Field(30, ge=1, description="max epochs of the LSTM/GRU (early stopping on a hold-out)")
    hidden: int = Field(32, ge=1, description="LSTM/GRU hidden size")
    seed: int = Field(0, description="seed of the neural models")
    z_warning: float = Field(4.0, gt=0, description="residual z-score of a warning anomaly")
    z_critical: float = Field(6.0, gt=0, description="residual z-score of a critical anomaly")
    min_windows: int = Field(2, ge=1, description="a warning anomaly needs this many anomalous windows in a row")
    debias_windows: int = Field(
        12,
        ge=0,
        description="residuals are scored against their median over this many "
        "previous windows, so slow drift is not paged (0: off)",
    )
    correlate_windows: int = Field(
        3,
        ge=0,
        description="anomalies on different series starting within this many "
        "windows of each other are one incident (one alert)",
    )
    calibration_days: int = Field(
        1,
        ge=0,
        description="days before the partition whose one-step residuals set the robust scale of the anomaly score",
    )
    series: list[SeriesConfig] = Field(
        default_factory=default_series,
        description="the series to forecast and score "
        "(name, table, value, by, where, fill, upper, lower, min_deviation, models); "
        "left out: the ones configs/pipeline.yaml lists",
    )


class EngineCapacityConfig(Strict):
    """Serving engines' KV-cache time to exhaustion and queue growth, per engine and model (table engine_windows)."""

    kv_cache_threshold: float = Field(
        0.95, gt=0, le=1, description="KV-cache share past which the engine preempts requests and latency climbs"
    )
    waiting_threshold: float | None = Field(
        50, gt=0, description="requests waiting in the queue (max per window) that must not be reached (None: off)"
    )
    lookback_minutes: int = Field(
        30, ge=30, description="recent history each fit sees (5-minute windows; a cache fills in tens of minutes)"
    )
    horizon_minutes: int = Field(60, ge=5, description="how far ahead to look for a crossing")
    every_minutes: int = Field(5, ge=5, description="origins through the day: every window, a cache fills in minutes")
    critical_minutes: int = Field(30, ge=0, description="a crossing predicted this close is critical")
    models: list[CapacityModel] = Field(
        default_factory=lambda: list(ENGINE_CAPACITY_MODELS), description="models compared"
    )


class ResourceForecastConfig(Strict):
    """GPU memory/utilisation forecasts per device (linear regression, random forest, gradient boosting)."""

    lookback_minutes: int = Field(
        120,
        ge=30,
        description="recent history each fit sees (5-minute windows; an origin "
        "with data in fewer than half of them, min 6, is skipped)",
    )
    horizon_minutes: int = Field(240, ge=5, description="how far ahead to forecast and look for a threshold crossing")
    every_minutes: int = Field(
        60, ge=5, description="evaluation origins through the partition (the latest is always one)"
    )
    memory_threshold: float = Field(0.9, gt=0, le=1, description="share of GPU memory that must not be crossed")
    util_threshold_pct: float | None = Field(
        None, gt=0, le=100, description="GPU utilisation limit (None: forecast only)"
    )
    critical_minutes: int = Field(
        60, ge=0, description="a crossing predicted this close is critical; further out within the horizon, a warning"
    )
    models: list[CapacityModel] = Field(default_factory=lambda: list(CAPACITY_MODELS), description="models compared")
    trend_confidence: float = Field(
        0.9,
        gt=0.5,
        lt=1,
        description="confidence of the Theil-Sen slope interval: a "
        "predicted crossing alerts only when its lower bound, "
        "over the lookback and its recent half, is above zero",
    )
    engine: EngineCapacityConfig = Field(
        default_factory=EngineCapacityConfig, description="the serving engines' KV cache and queue (same method)"
    )
