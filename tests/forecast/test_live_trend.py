"""The live time-to-threshold rule: a climb is seen within minutes; noise, steps, daily cycles and flat high use are not."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from monitor_pipeline.forecast.live_trend import TrendSettings, live_trends, trend_of
from monitor_pipeline.ingest.serving.windows import gauge_samples
from monitor_pipeline.warehouse.live import kv_trend_samples

T0 = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)
THRESHOLDS = {"gpu_memory": ("resource.time_to_threshold", 0.9), "kv_cache_usage": ("engine.time_to_threshold", 0.9)}
S = TrendSettings()


def gpu_frame(values: np.ndarray, step_s: float = 10.0, host: str = "node-1", device: str = "gpu0") -> pd.DataFrame:
    ts = [T0 + dt.timedelta(seconds=i * step_s) for i in range(len(values))]
    return pd.DataFrame({"timestamp": ts, "host": host, "device": device, "metric": "gpu_memory", "value": values})


def first_alert(df: pd.DataFrame, start_s: float, end_s: float, step_s: float = 60.0):
    """(seconds after T0, trend) of the first look, once a minute, that finds a trend; None when none does."""
    for s in np.arange(start_s, end_s, step_s):
        found = live_trends(df, THRESHOLDS, T0 + dt.timedelta(seconds=float(s)), S)
        if found:
            return float(s), found[0]
    return None


def leak(onset_s: float, base: float, rng: np.random.Generator, n: int = 360, minutes: float = 7.0) -> np.ndarray:
    """The simulator's leak: from the base to 98% of memory, linearly over `minutes`, on 10-s samples with noise."""
    t = np.arange(n) * 10.0
    y = base + rng.normal(0, 600 / 81920, n)
    frac = np.clip((t - onset_s) / (minutes * 60), 0, 1)
    return np.where(t >= onset_s, y + (0.98 - y) * frac, y)


@pytest.mark.parametrize("base", [0.7, 0.85])
def test_a_leak_is_seen_within_three_minutes_of_its_start(base):
    rng = np.random.default_rng(1)
    df = gpu_frame(leak(1800, base, rng))
    seen = first_alert(df, 1200, 3600)
    assert seen is not None
    at, trend = seen
    assert 1800 < at <= 1800 + 180
    assert trend.entity == "node-1:gpu0:gpu_memory" and trend.rule == "resource.time_to_threshold"
    assert trend.minutes_to_threshold <= S.horizon_minutes and trend.slope_low_per_min > 0
    f = trend.finding(S, "2026-12-07", "run-1")
    assert f.key == "resource.time_to_threshold:node-1:gpu0:gpu_memory" and f.source == "live_capacity"
    assert "node-1/gpu0 GPU memory" in f.title and "points/min" in f.title


def test_flat_noise_flat_high_use_and_a_daily_rise_are_never_findings():
    rng = np.random.default_rng(2)
    n = 720
    flat = 0.75 + rng.normal(0, 0.008, n)
    preallocated = 0.92 + rng.normal(0, 0.002, n)  # vLLM holds ~90% of GPU memory whatever it serves
    t = np.arange(n) * 10.0
    daily = 0.80 + 0.05 * t / 3600 + rng.normal(0, 0.008, n)  # a busy morning: 5 points an hour toward 90%
    for values in (flat, preallocated, daily):
        assert first_alert(gpu_frame(values), 600, n * 10) is None


def test_a_step_that_stays_flat_is_not_heading_anywhere():
    rng = np.random.default_rng(3)
    n = 360
    t = np.arange(n) * 10.0
    y = 0.70 + rng.normal(0, 0.004, n) + np.where(t >= 1800, 0.12, 0.0)  # a second model loaded: +12 points, then flat
    hits = [s for s in range(1800, 3600, 20) if live_trends(gpu_frame(y), THRESHOLDS, T0 + dt.timedelta(seconds=s), S)]
    assert hits == []


def test_at_the_threshold_and_still_rising_is_critical_with_no_minutes_left():
    x = np.linspace(-5, 0, 31)
    current, slope, low, recent, minutes = trend_of(x, 0.88 + 0.02 * (x + 5), 0.9, S)
    assert minutes == 0 and current == pytest.approx(0.98) and slope == pytest.approx(0.02)
    df = gpu_frame(0.88 + 0.02 * np.arange(31) / 6)
    (trend,) = live_trends(df, THRESHOLDS, T0 + dt.timedelta(minutes=5), S)
    assert trend.finding(S, "2026-12-07", None).severity == "critical"
    assert "already there" in trend.title


def test_too_few_samples_gaps_and_nan_give_nothing_and_no_error():
    assert trend_of(np.arange(5.0), np.arange(5.0), 0.9, S) is None
    x = np.linspace(-5, 0, 30)
    y = np.where(np.arange(30) % 3 == 0, np.nan, 0.5 + 0.05 * (x + 5))
    assert trend_of(x, y, 0.9, S) is not None  # NaN samples are left out, not fatal
    assert (
        live_trends(pd.DataFrame(columns=["timestamp", "host", "device", "metric", "value"]), THRESHOLDS, T0, S) == []
    )


def test_kv_cache_from_vllm_gauges_per_instance_soonest_kept():
    rows = []
    for i in range(31):
        at = T0 + dt.timedelta(seconds=10 * i)
        for pod, start, rate in (("pod-a", 0.4, 0.0), ("pod-b", 0.6, 0.004)):
            labels = f'{{"model_name": "llama", "pod": "{pod}"}}'
            rows.append((at, "vllm:gpu_cache_usage_perc", labels, start + rate * i))
    gauges = pd.DataFrame(rows, columns=["timestamp", "metric", "labels", "value"])
    kv = gauge_samples(gauges, "kv_cache_usage")
    assert set(kv["instance"]) == {"pod-a", "pod-b"} and set(kv["serving_engine"]) == {"vllm"}
    samples = kv_trend_samples(kv)
    (trend,) = live_trends(samples, THRESHOLDS, T0 + dt.timedelta(minutes=5), S)
    assert trend.entity == "vllm:llama:kv_cache_usage" and trend.instance == "pod-b"
    assert trend.rule == "engine.time_to_threshold" and 0 < trend.minutes_to_threshold < 10
