"""Time to threshold of a GPU metric: a leak caught early, quiet series quiet, bad series skipped clearly."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from monitor_pipeline.forecast.capacity_fit import (
    ResourceForecastSettings,
    crossing_predicted,
    episodes,
    first_crossing,
    forecast_at,
    forecast_day,
    on_grid,
)

START = dt.datetime(2026, 11, 18, tzinfo=dt.UTC)
END = START + dt.timedelta(days=1)
SETTINGS = ResourceForecastSettings(lookback_minutes=120, horizon_minutes=240, every_minutes=60)


def _series(values: np.ndarray, start: dt.datetime = START - dt.timedelta(hours=2)) -> pd.Series:
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="5min"))


def _flat(n: int = 312, level: float = 0.6, seed: int = 0) -> np.ndarray:
    """Memory share with a mild daily cycle and noise (26 h of windows from 22:00 the day before)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) * 5 / 1440
    return level + 0.03 * np.sin(2 * np.pi * (t - 0.3)) + rng.normal(0, 0.004, n)


def _leak(start_hour: float = 10, per_hour: float = 0.05, seed: int = 0) -> pd.Series:
    """The flat series plus a linear leak from `start_hour` of the day on."""
    y = _series(_flat(seed=seed))
    hours = (y.index - pd.Timestamp(START)) / pd.Timedelta(hours=1)
    return y + np.clip(hours - start_hour, 0, None) * per_hour


def test_a_leak_is_caught_at_least_an_hour_before_it_reaches_the_threshold():
    y = _leak()
    actual = first_crossing(on_grid(y, START, END), 0.9)
    assert actual is not None
    fcs = forecast_day(y, START, END, "gpu_memory", 0.9, SETTINGS)
    first = episodes(fcs)[0][0]
    assert first.origin <= actual - pd.Timedelta(hours=1)
    assert first.current < 0.9 and first.rising and first.slope_per_hour == pytest.approx(0.05, abs=0.01)
    assert first.trend_minutes_to_threshold == pytest.approx((0.9 - first.current) / first.slope_per_hour * 60)
    assert first.crossing_at is not None and 0 < first.minutes_to_threshold <= SETTINGS.horizon_minutes
    # The predicted crossing is close to the real one (a clean linear leak).
    assert abs((first.crossing_at - actual) / pd.Timedelta(minutes=1)) <= 60


def test_a_flat_series_predicts_no_crossing():
    fcs = forecast_day(_series(_flat()), START, END, "gpu_memory", 0.9, SETTINGS)
    assert len(fcs) == 25  # 00:00 .. 23:00 every hour, and 23:55, the latest window ("now")
    assert fcs[-1].origin == pd.Timestamp(END) - pd.Timedelta(minutes=5)
    assert all(f.skipped is None and f.model for f in fcs)
    assert episodes(fcs) == []
    assert all(f.predicted_at_horizon < 0.75 for f in fcs)


def test_a_spike_that_reached_the_threshold_is_not_a_predicted_crossing():
    y = _series(_flat(level=0.8))
    spike = (y.index >= pd.Timestamp(START) + pd.Timedelta(hours=9)) & (
        y.index < pd.Timestamp(START) + pd.Timedelta(hours=10)
    )
    y[spike] = 0.99
    fcs = forecast_day(y, START, END, "gpu_memory", 0.9, SETTINGS)
    assert next(f for f in fcs if f.origin.hour == 9).minutes_to_threshold == 0  # reached: stored, not predicted
    assert episodes(fcs) == []


def test_linear_wins_the_backtest_on_a_trend():
    y = _series(np.linspace(0.5, 0.7, 24) + np.random.default_rng(1).normal(0, 0.002, 24), START)
    f = forecast_at(y, y.index[-1], "gpu_memory", 0.9, SETTINGS)
    assert f.model == "linear"
    assert f.mae["linear"] < f.mae["random_forest"] and f.mae["linear"] < f.mae["gradient_boosting"]
    # The trend continues: 0.2 per 2 h reaches 0.9 about 2 h after 0.7.
    assert f.minutes_to_threshold == pytest.approx(120, abs=20)


def test_constant_series_is_skipped_clearly_and_a_full_device_still_counts():
    y = _series(np.full(40, 0.5), START)
    f = forecast_at(y, y.index[-1], "gpu_memory", 0.9, SETTINGS)
    assert "constant" in f.skipped and f.model is None and f.minutes_to_threshold is None
    full = forecast_at(_series(np.full(40, 0.95), START), y.index[-1], "gpu_memory", 0.9, SETTINGS)
    assert full.minutes_to_threshold == 0 and full.crossing_at == full.origin


def test_short_series_is_skipped_with_the_reason():
    y = _series(np.linspace(0.5, 0.6, 5), START)
    f = forecast_at(y, y.index[-1], "gpu_memory", 0.9, SETTINGS)
    assert f.skipped == "5 of 24 windows in the 120-minute lookback have data; at least 12 are needed"
    assert f.current == pytest.approx(0.6) and f.model is None and f.predicted_at_horizon is None


def test_gaps_and_nans_are_tolerated_and_empty_days_give_no_origins():
    y = _leak()
    rng = np.random.default_rng(3)
    y[rng.random(len(y)) < 0.3] = np.nan
    y = y.drop(y.index[100:110])  # missing windows, not only NaN values
    fcs = forecast_day(y, START, END, "gpu_memory", 0.9, SETTINGS)
    assert all(np.isfinite(f.predicted_at_horizon) for f in fcs if f.skipped is None)
    assert episodes(fcs) and episodes(fcs)[0][0].origin < first_crossing(y, 0.9)
    sparse = y.copy()
    sparse[rng.random(len(sparse)) < 0.9] = np.nan
    skipped = [f for f in forecast_day(sparse, START, END, "gpu_memory", 0.9, SETTINGS) if f.skipped]
    assert skipped and all("windows in the 120-minute lookback have data" in f.skipped for f in skipped)
    assert forecast_day(pd.Series(np.nan, index=y.index), START, END, "gpu_memory", 0.9, SETTINGS) == []


def test_without_a_threshold_only_the_latest_window_is_forecast():
    fcs = forecast_day(_series(_flat() * 100), START, END, "gpu_util", None, SETTINGS, latest_only=True)
    assert len(fcs) == 1 and fcs[0].minutes_to_threshold is None and fcs[0].predicted_at_horizon is not None


def test_unknown_model_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown.*xgboost"):
        ResourceForecastSettings(models=("linear", "xgboost"))


def _demo_like(seed: int) -> pd.Series:
    """The simulator's shape: a daily cycle peaking near 0.83 mid-afternoon, 5-minute noise, and a leak from 14:00
    that closes the gap to 0.98 linearly over 6 hours, so its ramp stays inside the daily range for its first hour.
    The day before (the same cycle, no leak) is included, as the asset loads it."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range(
        pd.Timestamp(START) - pd.Timedelta(days=1, hours=2), pd.Timestamp(END) - pd.Timedelta(minutes=5), freq="5min"
    )
    hour = (idx.hour + idx.minute / 60).to_numpy()
    base = 0.76 - 0.075 * np.cos(2 * np.pi * (hour - 3) / 24) + rng.normal(0, 0.008, len(idx))
    frac = ((idx - pd.Timestamp(START)) / pd.Timedelta(hours=1) - 14) / 6
    return pd.Series(np.where((frac >= 0) & (frac < 1), base + (0.98 - base) * frac, base), index=idx)


@pytest.mark.parametrize("seed", [1, 3, 5])  # seeds on which the trees, fit on the raw series, held the leak flat
def test_a_leak_inside_the_daily_range_is_caught_at_hourly_origins(seed):
    y = _demo_like(seed)
    actual = first_crossing(on_grid(y, START, END), 0.9)
    noon, evening = START + dt.timedelta(hours=12), START + dt.timedelta(hours=18)
    eps = episodes(forecast_day(y, noon, evening, "gpu_memory", 0.9, SETTINGS))
    assert len(eps) == 1 and eps[0][0].origin < actual and eps[0][0].origin.minute == 0
    assert 0 < eps[0][0].minutes_to_threshold <= SETTINGS.horizon_minutes and eps[0][0].rising
    assert eps[0][0].origin >= pd.Timestamp(START) + pd.Timedelta(hours=14)  # not the daily cycle's rise before it


def _cycle(seed: int, days: int) -> pd.Series:
    """`days` days ending at END of a daily cycle peaking at 0.88 at 15:00 (close under 0.9), no leak."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range(
        pd.Timestamp(END) - pd.Timedelta(days=days), pd.Timestamp(END) - pd.Timedelta(minutes=5), freq="5min"
    )
    hour = (idx.hour + idx.minute / 60).to_numpy()
    return pd.Series(0.78 - 0.1 * np.cos(2 * np.pi * (hour - 3) / 24) + rng.normal(0, 0.004, len(idx)), index=idx)


@pytest.mark.parametrize("seed", [1, 3, 5])
def test_the_daily_cycle_rise_is_no_leak_when_the_day_before_rose_alike(seed):
    # The late-morning rise, extrapolated, crosses 0.9 within the horizon; the same hours of the day before rose alike.
    with_day_before, alone = _cycle(seed, days=2), _cycle(seed, days=1)
    kw = dict(
        start=START + dt.timedelta(hours=9),
        end=START + dt.timedelta(hours=14),
        metric="gpu_memory",
        threshold=0.9,
        settings=SETTINGS,
    )
    assert episodes(forecast_day(alone, **kw)), "without the day before the rise looks like a leak"
    fcs = forecast_day(with_day_before, **kw)
    assert episodes(fcs) == [] and any(crossing_predicted(f) for f in fcs)
    assert all(f.excess_slope_per_hour is not None for f in fcs)


@pytest.mark.parametrize("model", ["random_forest", "gradient_boosting"])
def test_trees_extrapolate_a_trend(model):
    y = _series(np.linspace(0.5, 0.7, 24) + np.random.default_rng(1).normal(0, 0.002, 24), START)
    f = forecast_at(y, y.index[-1], "gpu_memory", 0.9, dataclasses.replace(SETTINGS, models=(model,)))
    assert f.model == model and f.predicted_at_horizon == pytest.approx(0.7 + 0.1 * 4, abs=0.03)
    assert f.minutes_to_threshold == pytest.approx(120, abs=20)


def test_the_windows_after_a_spike_are_no_trend():
    # Every 5 minutes around a 1-hour spike: while the lookback still rises into the spike, its recent half falls back.
    y = _series(_flat(level=0.8))
    t0 = pd.Timestamp(START) + pd.Timedelta(hours=9)
    y[(y.index >= t0) & (y.index < t0 + pd.Timedelta(hours=1))] = 0.99
    every5 = dataclasses.replace(SETTINGS, every_minutes=5)
    fcs = forecast_day(
        y, START + dt.timedelta(hours=9), START + dt.timedelta(hours=11, minutes=30), "gpu_memory", 0.9, every5
    )
    assert any(crossing_predicted(f) for f in fcs)  # some fits do extrapolate the spike ...
    assert episodes(fcs) == []  # ... and none of them alerts
    assert not any(f.rising for f in fcs if crossing_predicted(f))
