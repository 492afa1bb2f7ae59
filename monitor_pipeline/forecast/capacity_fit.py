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

This module fits one device metric at its origins; `capacity.forecast_capacity` runs it over a day's devices and turns
the confirmed crossings into findings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

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
