"""Residual anomaly scoring, event grouping, cross-series correlation and the evaluation against labeled incidents."""

from __future__ import annotations

import numpy as np
import pandas as pd

from monitor_pipeline.evaluation.incidents import match_incidents
from monitor_pipeline.forecast.anomaly import AnomalyRules, correlate, events, score_windows
from monitor_pipeline.forecast.base import Forecast

STEP = pd.Timedelta("5min")


def _frame(
    values: np.ndarray,
    expected: np.ndarray,
    series: str = "s",
    rules: AnomalyRules | None = None,
    calib_sd: float = 1.0,
) -> pd.DataFrame:
    times = pd.date_range("2026-11-20", periods=len(values), freq=STEP, tz="UTC")
    fc = Forecast(expected, expected - 1.96, expected + 1.96, 0.95)  # a sigma of 1
    calib = np.random.default_rng(0).normal(0, calib_sd, 288)
    return score_windows(series, times, values, fc, calib, rules or AnomalyRules(), "test")


def test_a_spike_is_critical_and_noise_is_not():
    rng = np.random.default_rng(1)
    expected = np.full(288, 100.0)
    values = expected + rng.normal(0, 1, 288)
    values[100:106] += 12
    scored = _frame(values, expected)
    assert set(scored["severity"].iloc[100:106]) == {"critical"}
    assert (scored["severity"].drop(index=range(100, 106)) == "none").all()
    ev = events(scored, AnomalyRules())
    assert len(ev) == 1 and ev.iloc[0]["windows"] == 6 and ev.iloc[0]["start"] == scored["window_start"][100]


def test_slow_drift_is_absorbed_but_a_sustained_step_stays_anomalous():
    expected = np.full(288, 100.0)
    drift = expected + np.linspace(0, 30, 288)  # 30 units over a day: 0.1 a window, far under one sigma per step
    assert (_frame(drift, expected)["severity"] == "none").all()
    off = _frame(drift, expected, rules=AnomalyRules(debias_windows=0))
    assert (off["severity"] != "none").sum() > 100  # without de-biasing the same drift pages all afternoon
    step = expected.copy()
    step[150:] += 10
    scored = _frame(step, expected)
    # Anomalous residuals stay out of the median: the step is anomalous for its whole length, with no echo after.
    assert (scored["severity"].iloc[150:] != "none").all() and (scored["severity"].iloc[:150] == "none").all()


def test_short_warnings_are_dropped_static_limits_are_critical_and_gaps_are_not_anomalies():
    expected = np.full(50, 1.0)
    values = expected.copy()
    values[10] += 4.5  # one warning window: under min_windows
    values[30] = np.nan
    values[40] = 0.5
    rules = AnomalyRules(lower=0.6, debias_windows=0)
    scored = _frame(values, expected, rules=rules)
    assert scored["severity"][10] == "warning" and scored["severity"][30] == "none"
    assert scored["severity"][40] == "critical" and scored["static_breach"][40]
    ev = events(scored, rules)
    assert list(ev["start"]) == [scored["window_start"][40]]


def test_concurrent_events_on_several_series_are_one_incident():
    t = pd.Timestamp("2026-11-20 09:00", tz="UTC")
    ev = pd.DataFrame(
        [
            {
                "series": "count",
                "start": t,
                "end": t + 12 * STEP,
                "windows": 12,
                "peak_score": 40.0,
                "peak_value": 1.0,
                "expected_at_peak": 0.0,
                "severity": "critical",
                "model": "arima",
            },
            {
                "series": "latency",
                "start": t + STEP,
                "end": t + 10 * STEP,
                "windows": 9,
                "peak_score": -9.0,
                "peak_value": 1.0,
                "expected_at_peak": 0.0,
                "severity": "warning",
                "model": "arima",
            },
            {
                "series": "latency",
                "start": t + 60 * STEP,
                "end": t + 62 * STEP,
                "windows": 2,
                "peak_score": 5.0,
                "peak_value": 1.0,
                "expected_at_peak": 0.0,
                "severity": "warning",
                "model": "arima",
            },
        ]
    )
    groups = correlate(ev, 3 * STEP)
    assert len(groups) == 2
    first = groups.iloc[0]
    assert first["series"] == "count" and first["members"] == ["count", "latency"] and first["severity"] == "critical"
    incidents = [{"id": "i1", "kind": "spike", "start": str(t), "end": str(t + 12 * STEP), "affected": ["latency"]}]
    score = match_incidents(groups, incidents, STEP)
    assert score["recall"] == 1.0 and score["true_events"] == 1 and score["false_events"] == 1
    assert score["precision"] == 0.5 and score["mean_delay_windows"] == 0.0
    none = match_incidents(pd.DataFrame(), incidents, STEP)
    assert none["recall"] == 0.0 and none["precision"] is None


def test_min_deviation_keeps_a_small_settled_offset_quiet_but_not_a_large_one():
    # A smooth series whose scale is 0.002: a level 0.012 lower (a GPU after its leak is fixed) is z = -6 for hours.
    expected = np.full(288, 0.712)
    values = expected.copy()
    values[100:] -= 0.012
    values[200:210] += 0.1  # and a real excursion later
    tiny = Forecast(expected, expected - 1.96 * 0.002, expected + 1.96 * 0.002, 0.95)
    times = pd.date_range("2026-11-20", periods=288, freq=STEP, tz="UTC")
    calib = np.random.default_rng(0).normal(0, 0.002, 288)
    plain = score_windows("m", times, values, tiny, calib, AnomalyRules(), "test")
    assert (plain["severity"].iloc[100:200] != "none").all()  # without a floor the offset pages
    floored = score_windows("m", times, values, tiny, calib, AnomalyRules(min_deviation=0.02), "test")
    assert (floored["severity"].iloc[100:200] == "none").all()
    assert (floored["severity"].iloc[200:210] == "critical").all()
