"""Time to exhaustion of a GPU resource: per evaluation origin, linear regression vs random forest vs gradient
boosting on the recent 5-minute windows, the best by a backtest on the lookback's tail, forecast to the horizon.

Trees cannot extrapolate a trend (they predict the range they were trained on): fit on the raw series they held a
leak flat while its ramp was still inside the daily range, won the backtest on noise, and missed it. So each tree
models what is left after a robust trend (Theil-Sen, which a spike or a few odd windows do not tilt): trend plus
residual, the trend carries the extrapolation and the tree the level and shape around it. A predicted crossing is
alert-worthy only when it is also predicted from the window before and the trend is rising with confidence (the
lower bound of the Theil-Sen slope's confidence interval above zero, and the slope of the lookback's recent half above
zero too): noise cannot invent one, and the fall after a spike is no rise. Where the series holds the same hours of the
day before, the rise over them must be confident and material too (the lower bound of the Theil-Sen slope of today
minus the day before, window by window, above zero, and that excess alone reaching the threshold within the horizon):
the afternoon rise of a daily cycle is no leak, a rise steeper than yesterday's
at the same hours is.

`forecast_capacity` is the entry point: a day's GPU windows in, the forecasts, a summary and the crossings out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from monitor_pipeline.alerts.findings import Finding
from monitor_pipeline.escape import markdown_table
from monitor_pipeline.forecast.series import day_bounds

if TYPE_CHECKING:
    from monitor_pipeline.settings.forecast import ResourceForecastConfig

STEP = pd.Timedelta(minutes=5)
DAY = pd.Timedelta(days=1)
MODELS = ("linear", "random_forest", "gradient_boosting")


def theilslopes(*args, **kwargs):
    """scipy's Theil-Sen slope, imported on first use (scipy.stats costs ~0.7 s of CPU in every run process)."""
    from scipy.stats import theilslopes as _theilslopes

    return _theilslopes(*args, **kwargs)


@dataclass(frozen=True)
class ResourceForecastSettings:
    """What one evaluation looks at: the recent history, how far ahead, how often, which models."""

    lookback_minutes: int = 120
    horizon_minutes: int = 240
    every_minutes: int = 60
    models: tuple[str, ...] = MODELS
    backtest_share: float = 0.25  # the tail of the lookback each model is scored on after fitting on the rest
    min_points: int | None = (
        None  # windows with data in the lookback below which an origin is skipped (None: half, ≥ 6)
    )
    seed: int = 0
    trend_confidence: float = 0.9  # two-sided confidence of the Theil-Sen slope interval whose lower bound must be > 0

    def __post_init__(self) -> None:
        unknown = sorted(set(self.models) - set(MODELS))
        if unknown or not self.models:
            raise ValueError(f"resource_forecast.models: unknown {unknown or 'empty list'}; choose from {list(MODELS)}")


@dataclass
class ResourceForecast:
    """The forecast of one metric of one device made at one origin (a window start)."""

    metric: str
    origin: pd.Timestamp
    threshold: float | None
    current: float | None = None
    points: int = 0
    model: str | None = None
    mae: dict[str, float] = field(default_factory=dict)
    predicted_at_horizon: float | None = None
    crossing_at: pd.Timestamp | None = None  # first forecast window at or above the threshold
    minutes_to_threshold: float | None = None  # None: no crossing within the horizon; 0: already at or above it
    skipped: str | None = None
    confirmed: bool = False  # a crossing ahead (not yet reached), rising, also predicted from the window before: alert
    slope_per_hour: float | None = None  # Theil-Sen slope over the lookback (units of the metric per hour)
    slope_low_per_hour: float | None = None  # the lower bound of its confidence interval
    excess_slope_per_hour: float | None = None  # slope of (value - the same window a day before); None: no day before
    excess_low_per_hour: float | None = None  # the lower bound of its confidence interval
    rising: bool = False  # both lower bounds above zero (the excess one where known) and the recent half rising
    forecast: pd.Series | None = field(default=None, repr=False)  # the winner's forecast, for plots

    @property
    def trend_minutes_to_threshold(self) -> float | None:
        """Minutes until the current value reaches the threshold at the Theil-Sen slope (None: not rising, no threshold)."""
        if self.threshold is None or self.current is None or not self.slope_per_hour or self.slope_per_hour <= 0:
            return None
        return max(0.0, (self.threshold - self.current) / self.slope_per_hour * 60)

    def row(self) -> dict:
        """A flat row for the warehouse table (the forecast path itself is left out)."""
        out = {
            "metric": self.metric,
            "origin": self.origin,
            "current": self.current,
            "threshold": self.threshold,
            "points": self.points,
            "model": self.model,
            "predicted_at_horizon": self.predicted_at_horizon,
            "crossing_at": self.crossing_at,
            "minutes_to_threshold": self.minutes_to_threshold,
            "confirmed": self.confirmed,
            "skipped": self.skipped,
        }
        out.update({f"mae_{m}": self.mae.get(m) for m in MODELS})
        return out


def _features(times: pd.DatetimeIndex, origin: pd.Timestamp) -> np.ndarray:
    """Minutes since the origin and the time of day on the unit circle (a daily cycle without a jump at midnight)."""
    minutes = (times - origin) / pd.Timedelta(minutes=1)
    tod = 2 * np.pi * (times.hour * 60 + times.minute) / 1440
    return np.column_stack([np.asarray(minutes, dtype=float), np.sin(tod), np.cos(tod)])


def _model(name: str, seed: int):
    """A small, seeded, single-threaded regressor (dozens of points: more trees buy nothing but time)."""
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "linear":
        return make_pipeline(StandardScaler(), LinearRegression())
    if name == "random_forest":
        return RandomForestRegressor(n_estimators=10, max_depth=4, min_samples_leaf=2, random_state=seed, n_jobs=1)
    return GradientBoostingRegressor(n_estimators=20, max_depth=2, learning_rate=0.2, random_state=seed)


def forecast_at(
    series: pd.Series, origin: pd.Timestamp, metric: str, threshold: float | None, settings: ResourceForecastSettings
) -> ResourceForecast:
    """Forecast `series` (5-minute windows, NaN = no data) from `origin`: backtest, refit the winner, find the crossing."""
    out = ResourceForecast(metric=metric, origin=origin, threshold=threshold)
    hist = series[(series.index > origin - pd.Timedelta(minutes=settings.lookback_minutes)) & (series.index <= origin)]
    hist = hist[np.isfinite(hist.to_numpy(dtype=float))]
    out.points = len(hist)
    if len(hist):
        out.current = float(hist.iloc[-1])
    expected = settings.lookback_minutes // 5
    need = settings.min_points or max(6, expected // 2)
    if len(hist) < need:
        out.skipped = (
            f"{len(hist)} of {expected} windows in the {settings.lookback_minutes}-minute lookback have data; "
            f"at least {need} are needed"
        )
        return out
    y = hist.to_numpy(dtype=float)
    future = pd.date_range(origin + STEP, origin + pd.Timedelta(minutes=settings.horizon_minutes), freq=STEP)
    if np.ptp(y) <= 1e-9 * max(1.0, abs(y).max()):
        # Nothing to learn from a constant: report it flat (a full device stays full) without fitting models.
        out.skipped = "constant over the lookback: models not fitted, forecast held flat"
        return _finish(out, pd.Series(y[-1], index=future), threshold)
    x, xf = _features(hist.index, origin), _features(future, origin)
    # Over a lookback shorter than a day the time-of-day terms are nearly collinear with time, and the horizon's times
    # of day fall outside (or fold back into) the lookback's: a linear fit on them extrapolates a curve of noise (it
    # "predicted" 0.64 -> 0.90 memory in 4 h on quiet devices), a tree maps them to arbitrary leaves. Time alone then.
    cols = slice(None) if settings.lookback_minutes >= 1440 else slice(0, 1)
    x, xf = x[:, cols], xf[:, cols]
    _trend(out, series, hist, x[:, 0] / 60, threshold, settings, need)
    split = max(2, int(round(len(y) * (1 - settings.backtest_share))))
    for name in settings.models:
        m = _fit(name, x[:split], y[:split], settings.seed)
        out.mae[name] = float(np.mean(np.abs(m(x[split:]) - y[split:])))
    out.model = min(out.mae, key=lambda k: (out.mae[k], MODELS.index(k)))  # a tie goes to the simpler model
    winner = _fit(out.model, x, y, settings.seed)
    return _finish(out, pd.Series(winner(xf), index=future), threshold)


def _trend(
    out: ResourceForecast,
    series: pd.Series,
    hist: pd.Series,
    hours: np.ndarray,
    threshold: float | None,
    settings: ResourceForecastSettings,
    need: int,
) -> None:
    """Fill the Theil-Sen trend of the lookback into `out` and decide whether it is a confident rise (`rising`)."""
    y = hist.to_numpy(dtype=float)
    slope = theilslopes(y, hours, alpha=settings.trend_confidence)
    out.slope_per_hour, out.slope_low_per_hour = float(slope.slope), float(slope.low_slope)
    # Still rising over the recent half: after a spike the whole lookback "rises" into it while its recent half falls
    # back. Only its point estimate: half the windows give too wide an interval to ask for confidence on a real ramp.
    recent = hours > -settings.lookback_minutes / 120
    excess = _excess_over_day_before(series, hist, hours, settings, need)
    if excess is not None:
        out.excess_slope_per_hour, out.excess_low_per_hour = float(excess.slope), float(excess.low_slope)
    # Against the day before, the excess must be confident and material: on its own it reaches the threshold within
    # the horizon (a few hundredths of noise in the difference of two noisy days are not a leak).
    material = (
        excess is None
        or threshold is None
        or (excess.low_slope > 0 and y[-1] + excess.slope * settings.horizon_minutes / 60 >= threshold)
    )
    out.rising = bool(
        slope.low_slope > 0 and material and recent.sum() >= 3 and theilslopes(y[recent], hours[recent]).slope > 0
    )


def _excess_over_day_before(
    series: pd.Series, hist: pd.Series, hours: np.ndarray, settings: ResourceForecastSettings, need: int
):
    """Theil-Sen fit (slope per hour, interval) of the lookback minus the same windows a day earlier; None when fewer
    than `need` windows have both. The daily cycle cancels out, a leak does not."""
    before = series.reindex(hist.index - DAY).to_numpy(dtype=float)
    both = np.isfinite(before)
    if both.sum() < need:
        return None
    return theilslopes(hist.to_numpy(dtype=float)[both] - before[both], hours[both], alpha=settings.trend_confidence)


def _fit(name: str, x: np.ndarray, y: np.ndarray, seed: int):
    """Fit one model; return its predict function. Trees fit the residual of a Theil-Sen trend on time (column 0)."""
    model = _model(name, seed)
    if name == "linear":
        model.fit(x, y)
        return model.predict
    trend = theilslopes(y, x[:, 0])
    model.fit(x, y - (trend.intercept + trend.slope * x[:, 0]))
    return lambda xs: trend.intercept + trend.slope * xs[:, 0] + model.predict(xs)


def _finish(out: ResourceForecast, path: pd.Series, threshold: float | None) -> ResourceForecast:
    out.forecast = path
    out.predicted_at_horizon = float(path.iloc[-1])
    if threshold is None:
        return out
    if out.current is not None and out.current >= threshold:
        out.crossing_at, out.minutes_to_threshold = out.origin, 0.0
        return out
    over = np.flatnonzero(path.to_numpy() >= threshold)
    if len(over):
        out.crossing_at = path.index[over[0]]
        out.minutes_to_threshold = (out.crossing_at - out.origin) / pd.Timedelta(minutes=1)
    return out


def origins(series: pd.Series, start: dt.datetime, end: dt.datetime, every_minutes: int | None) -> list[pd.Timestamp]:
    """Evaluation origins in [start, end): every `every_minutes` (None: none) up to the latest window with data, and
    that one ("now")."""
    valid = series.dropna()
    valid = valid[(valid.index >= pd.Timestamp(start)) & (valid.index < pd.Timestamp(end))]
    if valid.empty:
        return []
    now = valid.index.max()
    if every_minutes is None:
        return [now]
    grid = pd.date_range(pd.Timestamp(start), now, freq=pd.Timedelta(minutes=every_minutes))
    return sorted(set(grid) | {now})


def on_grid(values: pd.Series, start: dt.datetime, end: dt.datetime) -> pd.Series:
    """Values by window start on the regular 5-minute grid [start, end); missing windows are NaN."""
    grid = pd.date_range(pd.Timestamp(start), pd.Timestamp(end) - STEP, freq=STEP)
    return values[~values.index.duplicated()].reindex(grid)


def forecast_day(
    series: pd.Series,
    start: dt.datetime,
    end: dt.datetime,
    metric: str,
    threshold: float | None,
    settings: ResourceForecastSettings,
    latest_only: bool = False,
) -> list[ResourceForecast]:
    """Forecasts at every origin of [start, end) (or only the latest); `series` holds the windows from start − lookback
    (from a day earlier still, when the day before's slope is to tell a daily cycle from a trend)."""
    grid = on_grid(series, start - DAY - pd.Timedelta(minutes=settings.lookback_minutes), end)
    every = None if latest_only else settings.every_minutes
    out = [forecast_at(grid, o, metric, threshold, settings) for o in origins(grid, start, end, every)]
    for f in out:
        # One window's jump (the first window after a traffic spike, fit by trees that remember the spike) is not a
        # trend: the crossing must also be ahead from the window before. Only needed, so only computed, for crossings.
        if crossing_predicted(f) and f.rising:
            f.confirmed = crossing_predicted(forecast_at(grid, f.origin - STEP, metric, threshold, settings))
    return out


def crossing_predicted(f: ResourceForecast) -> bool:
    """A crossing predicted within the horizon and not yet reached (a reached one is a static threshold's alert)."""
    return f.minutes_to_threshold is not None and f.minutes_to_threshold > 0


def first_crossing(series: pd.Series, threshold: float) -> pd.Timestamp | None:
    """The first window whose actual value is at or above the threshold (None: never)."""
    hit = series[series >= threshold]
    return None if hit.empty else hit.index[0]


def episodes(forecasts: list[ResourceForecast]) -> list[list[ResourceForecast]]:
    """Runs of consecutive origins with a confirmed crossing ahead (one alert-worthy event each)."""
    out: list[list[ResourceForecast]] = []
    run: list[ResourceForecast] = []
    for f in sorted(forecasts, key=lambda f: f.origin):
        if f.confirmed:
            run.append(f)
        elif run:
            out.append(run)
            run = []
    return out + ([run] if run else [])


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
            f"{self.host}/{self.device} {LABEL[self.metric]} {_fmt(self.metric, first.current)} predicted to reach "
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
                    "device": f"{host}/{device}",
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
