"""Time to exhaustion of GPU memory and serving engines' KV caches over a day: per device and metric, the forecasts at
origins through the day (`capacity_fit`), the confirmed crossings ahead as findings and plots, and a summary.

`forecast_capacity` is the entry point: a day's GPU windows in, the forecasts, a summary and the crossings out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from monitor_pipeline.alerts.findings import Finding
from monitor_pipeline.escape import markdown_table
from monitor_pipeline.forecast.capacity_fit import (
    ResourceForecast,
    ResourceForecastSettings,
    episodes,
    forecast_day,
    on_grid,
)
from monitor_pipeline.forecast.series import day_bounds

if TYPE_CHECKING:
    from monitor_pipeline.settings.forecast import ResourceForecastConfig

LABEL = {
    "gpu_memory": "GPU memory",
    "gpu_util": "GPU utilisation",
    "kv_cache_usage": "KV-cache usage",
    "waiting": "queue",
}
SCALE = {"gpu_memory": 100.0, "gpu_util": 1.0, "kv_cache_usage": 100.0, "waiting": 1.0}  # to the unit below
UNIT = {"waiting": "requests"}  # per hour in titles; the others are percentage points
RULE = "resource.time_to_threshold"
ENGINE_RULE = "engine.time_to_threshold"
SHARES = ("gpu_memory", "kv_cache_usage")  # shares of a whole, shown as percentages


@dataclass(frozen=True)
class CapacityTarget:
    """What one capacity forecast watches: GPUs per host and device, or serving engines per engine and model."""

    name: str
    rule: str
    thresholds: dict[str, float | None]
    settings: ResourceForecastSettings
    critical_minutes: int
    horizon_minutes: int
    empty_note: str


def gpu_target(config: ResourceForecastConfig) -> CapacityTarget:
    """GPU memory (and utilisation) per host and device, with the config's hourly origins and tree models."""
    return CapacityTarget(
        "gpu",
        RULE,
        {"gpu_memory": config.memory_threshold, "gpu_util": config.util_threshold_pct},
        ResourceForecastSettings(
            config.lookback_minutes,
            config.horizon_minutes,
            config.every_minutes,
            tuple(config.models),
            trend_confidence=config.trend_confidence,
        ),
        config.critical_minutes,
        config.horizon_minutes,
        "no 5-minute GPU windows in resource_windows for {day} (ingest resource samples first)",
    )


def engine_target(config: ResourceForecastConfig) -> CapacityTarget:
    """KV-cache usage and queue length per serving engine and model: a KV cache fills in tens of minutes, not
    hours, so every window is an origin and the fit is a line (a tree per window would cost minutes a day)."""
    e = config.engine
    return CapacityTarget(
        "engine",
        ENGINE_RULE,
        {"kv_cache_usage": e.kv_cache_threshold, "waiting": e.waiting_threshold},
        ResourceForecastSettings(
            e.lookback_minutes,
            e.horizon_minutes,
            e.every_minutes,
            tuple(e.models),
            trend_confidence=config.trend_confidence,
        ),
        e.critical_minutes,
        e.horizon_minutes,
        "no 5-minute serving-engine windows in engine_windows for {day} (ingest vLLM/SGLang/TGI metrics first)",
    )


def capacity_bounds(day: dt.date, lookback_minutes: int) -> tuple[dt.datetime, dt.datetime]:
    """The [start, end) of the windows forecasting `day` needs: from a day before its first lookback (the same hours of
    the day before tell a daily cycle's rise from a leak) to its end."""
    start, end = day_bounds(day)
    return start - dt.timedelta(days=1, minutes=lookback_minutes), end


def where(host: str, device: str) -> str:
    """`host/gpu0`, or `gpu0` for a capture that names no host (its samples' host is '')."""
    return f"{host}/{device}" if host else device


def _fmt(metric: str, v: float | None) -> str:
    if v is None or pd.isna(v):
        return ""
    if metric == "waiting":
        return f"{v:.0f} waiting"
    return f"{v:.1%}" if metric in SHARES else f"{v:.1f}%"


@dataclass
class Crossing:
    """One episode of confirmed crossings ahead on one device metric: an alert-worthy event, told by its first origin."""

    host: str
    device: str
    metric: str
    episode: list[ResourceForecast]
    actual: pd.Series = field(repr=False)  # the metric on the day's 5-minute grid
    threshold: float
    urgent: bool  # predicted within the critical minutes at some origin of the episode
    horizon_minutes: int
    rule: str = RULE

    @property
    def first(self) -> ResourceForecast:
        """The forecast at the episode's first origin."""
        return self.episode[0]

    @property
    def observed(self) -> pd.Timestamp | None:
        """When the metric actually reached the threshold from the first origin on (None: not that day)."""
        crossed = self.actual[(self.actual.index >= self.first.origin) & (self.actual >= self.threshold)]
        return crossed.index[0] if len(crossed) else None

    @property
    def title(self) -> str:
        """`host/gpu0 GPU memory 71.0% predicted to reach 90.0% in 95 min (at 14:35 UTC), rising 12.0 points/h`."""
        first = self.first
        return (
            f"{where(self.host, self.device)} {LABEL[self.metric]} {_fmt(self.metric, first.current)} predicted to reach "
            f"{_fmt(self.metric, self.threshold)} in {first.minutes_to_threshold:.0f} min (at {first.crossing_at:%H:%M} "
            f"UTC), rising {(first.slope_per_hour or 0.0) * SCALE[self.metric]:.1f} "
            f"{UNIT.get(self.metric, 'points')}/h"
        )

    def finding(self, source: str, partition: str, dagster_run_id: str | None, mlflow_run_url: str | None) -> Finding:
        """The episode as one finding keyed by host, device and metric."""
        first, observed = self.first, self.observed
        return Finding(
            source=source,
            rule=self.rule,
            entity=f"{self.host}:{self.device}:{self.metric}",
            severity="critical" if self.urgent else "warning",
            title=self.title,
            value=first.current,
            threshold=self.threshold,
            expected=first.predicted_at_horizon,
            window_start=first.origin.to_pydatetime(),
            window_end=(self.episode[-1].origin + pd.Timedelta(minutes=5)).to_pydatetime(),
            partition=partition,
            dagster_run_id=dagster_run_id,
            mlflow_run_url=mlflow_run_url,
            detail={
                "model": first.model,
                "origin": first.origin.isoformat(),
                "origins": len(self.episode),
                "predicted_crossing_at": None if first.crossing_at is None else first.crossing_at.isoformat(),
                "lead_minutes": first.minutes_to_threshold,
                "observed_crossing_at": None if observed is None else observed.isoformat(),
                "observed_lead_minutes": None if observed is None else (observed - first.origin).total_seconds() / 60,
                "backtest_mae": {k: round(v, 6) for k, v in first.mae.items()},
                "trend_per_hour": first.slope_per_hour,
                "trend_low_per_hour": first.slope_low_per_hour,
                "excess_over_day_before_per_hour": first.excess_slope_per_hour,
                "trend_minutes_to_threshold": first.trend_minutes_to_threshold,
                "horizon_minutes": self.horizon_minutes,
            },
        )

    def plot(self, directory: str | Path) -> Path:
        """A PNG of the day, the forecast at the first origin, the threshold and the predicted crossing."""
        from monitor_pipeline.plots import resource_forecast_plot

        first = self.first
        return resource_forecast_plot(
            self.actual,
            first.forecast,
            first.origin,
            self.threshold,
            first.crossing_at,
            self.title,
            Path(directory) / f"{self.host}_{self.device}_{self.metric}_{first.origin:%H%M}.png",
        )


@dataclass
class CapacityResult:
    """A day's GPU forecasts: the warehouse rows, a summary per device and metric (now), and the crossings ahead."""

    day: dt.date
    config: ResourceForecastConfig = field(repr=False)
    windows: pd.DataFrame = field(repr=False)  # the GPU windows read
    forecasts: pd.DataFrame  # one row per device, metric and origin
    summary: list[dict]  # one row per device and metric: the latest origin's forecast
    crossings: list[Crossing]
    target: CapacityTarget | None = field(default=None, repr=False)

    @property
    def nothing_to_forecast(self) -> str | None:
        """Why nothing was forecast (no windows), else None."""
        if not self.windows.empty:
            return None
        return (self.target or gpu_target(self.config)).empty_note.format(day=self.day)

    @property
    def devices(self) -> int:
        """Devices summarised."""
        return len({s["device"] for s in self.summary})

    def params(self) -> dict[str, Any]:
        """The settings forecast with, for the tracking run."""
        c = self.config
        return {
            "partition": self.day.isoformat(),
            "lookback_minutes": c.lookback_minutes,
            "horizon_minutes": c.horizon_minutes,
            "every_minutes": c.every_minutes,
            "memory_threshold": c.memory_threshold,
            "util_threshold_pct": c.util_threshold_pct,
            "models": ",".join(c.models),
            "trend_confidence": c.trend_confidence,
        }

    def metrics(self) -> dict[str, float | None]:
        """Devices, forecasts, crossings, skipped origins, the earliest crossing's lead and the longest observed lead."""
        table, crossings = self.forecasts, self.crossings
        earliest = min(crossings, key=lambda c: c.first.origin) if crossings else None
        observed = [(c.observed - c.first.origin).total_seconds() / 60 for c in crossings if c.observed is not None]
        return {
            "devices": self.windows[["host", "device"]].drop_duplicates().shape[0] if len(self.windows) else 0,
            "forecasts": len(table),
            "crossings": len(crossings),
            "skipped": int(table["skipped"].notna().sum()) if len(table) else 0,
            "earliest_lead_minutes": earliest.first.minutes_to_threshold if earliest else None,
            "max_observed_lead_minutes": max(observed) if observed else None,
        }

    def forecast_table(self) -> pd.DataFrame:
        """The forecasts with their times as text (an MLflow table)."""
        return self.forecasts.astype({"origin": str, "crossing_at": str})

    def findings(
        self, source: str, partition: str, dagster_run_id: str | None, mlflow_run_url: str | None
    ) -> list[Finding]:
        """One finding per crossing."""
        return [c.finding(source, partition, dagster_run_id, mlflow_run_url) for c in self.crossings]

    def markdown(self) -> str:
        """Device, metric, model, current, predicted at the horizon, minutes to threshold, events, note."""
        if not self.summary:
            return "(no GPU windows)"
        return markdown_table(
            [
                "device",
                "metric",
                "model (now)",
                "current",
                "predicted at horizon",
                "minutes to threshold",
                "events",
                "note",
            ],
            [
                [
                    r["device"],
                    r["metric"],
                    r["model"] or "",
                    _fmt(r["metric"], r["current"]),
                    _fmt(r["metric"], r["predicted"]),
                    "" if r["minutes"] is None else f"{r['minutes']:.0f}",
                    r["events"],
                    r["note"] or "",
                ]
                for r in self.summary
            ],
        )


def _table(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The warehouse rows with fixed column types (an all-None column would otherwise have none)."""
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if df.empty:
        return df
    for c in ("origin", "crossing_at"):
        df[c] = pd.to_datetime(df[c], utc=True)
    for c in ("host", "device", "metric", "model", "skipped"):
        df[c] = df[c].astype("string")
    num = [c for c in df.columns if c.startswith("mae_")] + [
        "current",
        "threshold",
        "predicted_at_horizon",
        "minutes_to_threshold",
    ]
    return df.astype({c: "float64" for c in num})


def forecast_capacity(
    windows: pd.DataFrame, day: dt.date, config: ResourceForecastConfig, target: CapacityTarget | None = None
) -> CapacityResult:
    """Per device (GPU: host and device; engine: serving engine and model) and metric: forecasts at origins through
    `day` (the latest only where no threshold is set) and the confirmed crossings ahead. `windows` are
    `capacity_bounds(day, ...)`'s 5-minute windows (window_start, host, device, one column per target metric)."""
    target = target or gpu_target(config)
    settings = target.settings
    start, end = day_bounds(day)
    frames, summary, crossings = [], [], []
    for (host, device), g in windows.groupby(["host", "device"], sort=True):
        for metric, threshold in target.thresholds.items():
            series = g.set_index("window_start")[metric].astype(float)
            # A metric without a threshold has nothing to alert on: forecast it once, from the latest window.
            fcs = forecast_day(series, start, end, metric, threshold, settings, latest_only=threshold is None)
            frames.append(pd.DataFrame([{"host": host, "device": device, **f.row()} for f in fcs]))
            eps = episodes(fcs)
            if threshold is not None:  # a crossing needs a threshold: without one there are no episodes
                crossings += [
                    Crossing(
                        host,
                        device,
                        metric,
                        ep,
                        on_grid(series, start, end),
                        threshold,
                        min(f.minutes_to_threshold or 0.0 for f in ep) <= target.critical_minutes,
                        target.horizon_minutes,
                        target.rule,
                    )
                    for ep in eps
                ]
            now = fcs[-1] if fcs else None
            summary.append(
                {
                    "device": where(host, device),
                    "metric": metric,
                    "model": now and now.model,
                    "current": now and now.current,
                    "predicted": now and now.predicted_at_horizon,
                    "minutes": now and now.minutes_to_threshold,
                    "events": len(eps),
                    "note": now.skipped if now else "no windows with data in this partition",
                }
            )
    return CapacityResult(day, config, windows, _table(frames), summary, crossings, target)


def combined_forecasts(*results: CapacityResult) -> pd.DataFrame:
    """The warehouse rows of several targets' results (GPUs, engines) in one frame."""
    frames = [r.forecasts for r in results if len(r.forecasts)]
    return pd.concat(frames, ignore_index=True) if frames else results[0].forecasts
