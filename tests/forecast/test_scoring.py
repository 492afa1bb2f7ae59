"""score_day: each series scored under its champion or the seasonal-naive fallback; events become findings."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from monitor_pipeline.forecast.naive import SeasonalNaive
from monitor_pipeline.forecast.scoring import NO_CHAMPION, score_day, scoring_bounds
from monitor_pipeline.settings import ForecastingConfig, SeriesConfig

DAY = dt.date(2026, 11, 20)
COUNT = SeriesConfig(name="count", table="request_windows", value="sum(requests)", fill="zero")
CONFIG = ForecastingConfig(series=[COUNT])


def _series(start: dt.datetime, end: dt.datetime, spike_at: str | None = None, seed: int = 0) -> pd.Series:
    """5-minute request counts with a daily cycle and noise; x4 for an hour from `spike_at`."""
    idx = pd.date_range(start, end, freq="5min", inclusive="left")
    rng = np.random.default_rng(seed)
    phase = 2 * np.pi * (idx.hour * 60 + idx.minute) / 1440
    y = pd.Series(500 + 200 * np.sin(phase) + rng.normal(0, 10, len(idx)), index=idx)
    if spike_at:
        y[pd.Timestamp(spike_at) : pd.Timestamp(spike_at) + pd.Timedelta(minutes=55)] *= 4
    return y


def test_without_champion_a_seasonal_naive_fallback_finds_the_spike():
    start, end = scoring_bounds(DAY, CONFIG)
    assert end - start == dt.timedelta(days=4, hours=4)  # the day, a calibration day, two more and 48 windows
    y = _series(start, end, spike_at="2026-11-20T09:00:00+00:00")
    asked = []
    result = score_day({"requests.count": (COUNT, y)}, DAY, CONFIG, lambda key: asked.append(key))
    assert asked == ["requests.count"] and result.models == {"requests.count": NO_CHAMPION} and not result.skipped
    assert len(result.windows) == 288 and len(result.anomalous) >= 12
    (event,) = result.events.itertuples()
    assert event.start == pd.Timestamp("2026-11-20T09:00:00+00:00") and event.severity == "critical"
    assert result.metrics() == {
        "windows_scored": 288,
        "anomalous_windows": len(result.anomalous),
        "events": 1,
        "critical_events": 1,
    }
    assert result.params()["partition"] == "2026-11-20" and result.critical_series == ["requests.count"]
    (finding,) = result.findings("anomalies", "2026-11-20", "run-1", "http://mlflow/run")
    assert finding.key == "anomaly:requests.count" and finding.title == "requests.count above forecast"
    assert finding.detail["series"] == ["requests.count"] and finding.mlflow_run_url == "http://mlflow/run"
    assert result.event_records()[0]["start"] == "2026-11-20 09:00:00+00:00"
    assert "requests.count" in result.markdown()


def test_a_registered_champion_is_used_and_a_series_without_history_is_skipped():
    start, end = scoring_bounds(DAY, CONFIG)
    y = _series(start, end)
    champion = SeasonalNaive(288).fit(y[: 2 * 288].to_numpy())
    info = {"model": "seasonal_naive", "version": 3}
    today_only = _series(dt.datetime(2026, 11, 20, tzinfo=dt.UTC), end)
    result = score_day(
        {"requests.count": (COUNT, y), "requests.new": (COUNT, today_only)},
        DAY,
        CONFIG,
        lambda key: (champion, info) if key == "requests.count" else None,
    )
    assert result.models == {"requests.count": info} and result.events.empty and result.markdown() == "(none)"
    assert result.skipped == {
        "requests.new": "no champion and less than a day of history for the seasonal-naive fallback"
    }
    assert result.findings("anomalies", "2026-11-20", None, None) == [] and result.critical_series == []


def test_a_series_that_joins_an_announced_event_gets_its_own_finding():
    # Count spikes at 09:00; latency (another series) moves at 09:10, inside the correlation window: one event led by
    # the count. Before anything was announced the event's finding names latency; once the count's event was
    # announced alone (an earlier micro-batch), latency's joining is a finding of its own.
    latency = SeriesConfig(name="latency", table="request_windows", value="max(latency_p95_ms)")
    config = ForecastingConfig(series=[COUNT, latency])
    start, end = scoring_bounds(DAY, config)
    count = _series(start, end, spike_at="2026-11-20T09:00:00+00:00")
    lat = _series(start, end, spike_at="2026-11-20T09:10:00+00:00", seed=1) / 2
    series = {"requests.count": (COUNT, count), "requests.latency": (latency, lat)}
    result = score_day(series, DAY, config, lambda key: None)
    (event,) = result.events.itertuples()
    assert event.members == ["requests.count", "requests.latency"]
    (first,) = [f for f in result.findings("anomalies", "2026-11-20", None, None) if f.window_start.hour == 9]
    assert first.key == f"anomaly:{event.series}" and "moved with it: requests.latency" in first.title
    later = result.findings("anomalies", "2026-11-20", None, None, announced={"requests.count"})
    joined = [f for f in later if f.entity == "requests.latency"]
    assert len(joined) == 1 and "joined the open event led by requests.count" in joined[0].title
    assert joined[0].window_start == pd.Timestamp("2026-11-20T09:10:00+00:00")
    # Announced already: nothing new.
    again = result.findings("anomalies", "2026-11-20", None, None, announced={"requests.count", "requests.latency"})
    assert [f.entity for f in again] == [event.series]
