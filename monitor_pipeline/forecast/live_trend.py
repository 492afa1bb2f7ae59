"""Live time to threshold: a resource climbing toward its limit, seen in the last minutes of raw samples.

The 5-minute windows that anomaly scoring and the hourly capacity forecast read see a climb only once a window that
holds most of it has closed: a leak that starts just after a window boundary is first scored 7-10 minutes later. An
on-call engineer's Prometheus rule (`predict_linear(used[5m], 1800) > total`) pages sooner. This is that rule with
guards against noise, on every raw sample of the last `lookback_minutes` (10-15 s apart from nvidia-smi, DCGM or
/metrics scrapes):

- the slope is Theil-Sen's (a spike or a few odd samples do not tilt it), and the lower bound of its confidence
  interval must be above zero: noise around a level cannot invent a rise;
- the rise over the lookback must be material (`min_rise`, in the metric's units: 0.05 = 5 points of a share);
- the recent half of the lookback must still be rising at half the whole slope or more, and its last third rising
  with confidence: a step (a model loaded, a cache warmed) or a climb levelling off is not heading for the limit;
- the time to the threshold is counted at the slope's lower bound from the fitted current value, and must be within
  `horizon_minutes`; already at or above it counts as 0 only while it is still rising (vLLM pre-allocates ~90% of GPU
  memory: a flat 92% is how it runs, not an incident).

Written by hand on purpose: no library offers predict_linear over irregular samples with these guards; scipy gives
the slope and its interval.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from monitor_pipeline.alerts.findings import Finding
from monitor_pipeline.forecast.capacity import LABEL, SHARES, where
from monitor_pipeline.forecast.capacity_fit import theilslopes

KEYS = ["host", "device", "metric"]  # a GPU: host and device; a serving engine: engine and model
SOURCE = "live_capacity"


@dataclass(frozen=True)
class TrendSettings:
    """What one look sees and what counts as heading for the threshold."""

    lookback_minutes: float = 5.0
    horizon_minutes: float = 30.0
    critical_minutes: float = 10.0
    min_points: int = 12
    min_rise: float = 0.05
    confidence: float = 0.9


@dataclass(frozen=True)
class Trend:
    """One device metric heading for its threshold: where it is, how fast it rises, and when it gets there."""

    host: str
    device: str
    metric: str
    rule: str
    current: float
    threshold: float
    slope_per_min: float
    slope_low_per_min: float
    recent_slope_per_min: float
    minutes_to_threshold: float
    points: int
    start: pd.Timestamp
    end: pd.Timestamp
    instance: str = ""

    @property
    def entity(self) -> str:
        """`host:device:metric`, the capacity forecast's entity: the batch and live findings share one alert key."""
        return f"{self.host}:{self.device}:{self.metric}"

    def _fmt(self, v: float) -> str:
        return f"{v:.1%}" if self.metric in SHARES else f"{v:.3g}"

    @property
    def title(self) -> str:
        """`gpu-node-1/gpu0 GPU memory 84.0% rising 3.1 points/min (last 5 min): reaches 90.0% in ~2 min`."""
        rate = f"{self.slope_per_min * 100:.1f} points" if self.metric in SHARES else f"{self.slope_per_min:.3g}"
        m = self.minutes_to_threshold
        eta = (
            "already there and still rising"
            if m <= 0
            else f"reaches {self._fmt(self.threshold)} " + ("within a minute" if m < 1 else f"in ~{m:.0f} min")
        )
        span = (self.end - self.start).total_seconds() / 60
        return (
            f"{where(self.host, self.device)} {LABEL.get(self.metric, self.metric)} {self._fmt(self.current)} rising "
            f"{rate}/min (last {span:.0f} min): {eta}"
        )

    def finding(self, settings: TrendSettings, partition: str, dagster_run_id: str | None) -> Finding:
        """The trend as a finding keyed like the capacity forecast's (critical within `critical_minutes`)."""
        return Finding(
            source=SOURCE,
            rule=self.rule,
            entity=self.entity,
            severity="critical" if self.minutes_to_threshold <= settings.critical_minutes else "warning",
            title=self.title,
            value=self.current,
            threshold=self.threshold,
            window_start=self.start.to_pydatetime(),
            window_end=self.end.to_pydatetime(),
            partition=partition,
            dagster_run_id=dagster_run_id,
            detail={
                "method": "Theil-Sen slope over the raw samples (live)",
                "slope_per_min": self.slope_per_min,
                "slope_low_per_min": self.slope_low_per_min,
                "recent_half_slope_per_min": self.recent_slope_per_min,
                "minutes_to_threshold": self.minutes_to_threshold,
                "points": self.points,
                "lookback_minutes": settings.lookback_minutes,
                "horizon_minutes": settings.horizon_minutes,
                **({"instance": self.instance} if self.instance else {}),
            },
        )


def trend_of(
    times: np.ndarray, values: np.ndarray, threshold: float, settings: TrendSettings
) -> tuple[float, float, float, float, float] | None:
    """(current, slope, slope low, recent-half slope, minutes to threshold) per minute when the samples head for the
    threshold within the horizon, else None. `times` are minutes (any origin), ascending."""
    ok = np.isfinite(times) & np.isfinite(values)
    x, y = times[ok], values[ok]
    if len(x) < settings.min_points or x[-1] - x[0] < settings.lookback_minutes / 2:
        return None
    x = x - x[-1]  # minutes before the last sample: the intercept is the fitted current value
    slope, intercept, low, _ = theilslopes(y, x, settings.confidence)
    if not np.isfinite(low) or low <= 0 or slope * -x[0] < settings.min_rise:
        return None
    half, third = x >= x[0] / 2, x >= x[0] / 3
    if third.sum() < max(4, settings.min_points // 3):
        return None
    recent = float(theilslopes(y[half], x[half])[0])
    # Still rising now: the recent half at half the slope or more, and the last third rising with confidence (a step
    # a minute or two ago looks like a climb to the whole lookback; the samples since it are flat).
    if recent < slope / 2 or not theilslopes(y[third], x[third], settings.confidence)[2] > 0:  # NaN: not shown
        return None
    current = float(intercept)
    minutes = max(0.0, (threshold - current) / low)
    if minutes > settings.horizon_minutes:
        return None
    return current, float(slope), float(low), recent, minutes


def live_trends(
    samples: pd.DataFrame,
    thresholds: dict[str, tuple[str, float]],
    now: dt.datetime,
    settings: TrendSettings,
) -> list[Trend]:
    """The device metrics of `samples` (timestamp, host, device, metric, value[, instance]) heading for their threshold
    in the `lookback_minutes` before `now`. `thresholds`: metric -> (alert rule, threshold); other metrics are ignored.
    Where a metric has several instances (a model served by several pods), each is fitted and the soonest kept."""
    if samples.empty:
        return []
    end = pd.Timestamp(now)
    start = end - pd.Timedelta(minutes=settings.lookback_minutes)
    ts = pd.to_datetime(samples["timestamp"], utc=True)
    df = samples[(ts > start) & (ts <= end) & samples["metric"].isin(thresholds.keys())].assign(
        minute=(ts - end) / pd.Timedelta(minutes=1)
    )
    if "instance" not in df.columns:
        df = df.assign(instance="")
    best: dict[tuple[str, str, str], Trend] = {}
    for (host, device, metric, instance), g in df.groupby([*KEYS, "instance"], sort=True, dropna=False):
        g = g.sort_values("minute")
        rule, threshold = thresholds[str(metric)]
        found = trend_of(g["minute"].to_numpy(float), g["value"].to_numpy(float), threshold, settings)
        if found is None:
            continue
        current, slope, low, recent, minutes = found
        t = pd.to_datetime(g["timestamp"], utc=True)
        trend = Trend(
            str(host),
            str(device),
            str(metric),
            rule,
            current,
            threshold,
            slope,
            low,
            recent,
            minutes,
            len(g),
            t.iloc[0],
            t.iloc[-1],
            "" if pd.isna(instance) else str(instance),
        )
        key = (trend.host, trend.device, trend.metric)
        if key not in best or trend.minutes_to_threshold < best[key].minutes_to_threshold:
            best[key] = trend
    return list(best.values())
