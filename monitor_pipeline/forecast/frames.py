"""A forecaster behind data frames: the recent windows of a series in, the forecast with its interval out.

This is the contract of a registered forecaster's pyfunc model (`tracking.forecaster_model`):

input, one row per window of the series (the frequency it was trained on, `5min` or `1h`), oldest first:
    `timestamp`  window start in UTC, timezone-naive (MLflow's datetime columns are naive; an aware time is
                 converted to UTC when the model is called directly), on the window grid;
    `value`      the series' value (NaN, or a missing row, for a window without data: gaps are interpolated).
output of `forecast_frame`, one row per window after the last input row:
    `timestamp` (naive UTC), `forecast` (point forecast), `lower` and `upper` (the central interval at the
    model's `level`).
`one_step_frame` returns the same columns for the input's own windows from `warmup` on, each forecast from the
windows before it only (what anomaly scoring compares a window with).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from monitor_pipeline.forecast.base import Forecast, Forecaster
from monitor_pipeline.forecast.series import FREQ, phase_of

TIMESTAMP, VALUE = "timestamp", "value"
FORECAST, LOWER, UPPER = "forecast", "lower", "upper"


def history(df: pd.DataFrame, window: str) -> pd.Series:
    """The input frame as a series on the full `window` grid (naive UTC) from its first to its last row (gaps NaN)."""
    missing = {TIMESTAMP, VALUE} - set(df.columns)
    if missing:
        raise ValueError(
            f"input frame lacks column(s) {sorted(missing)}: pass one row per window with `timestamp` and `value`"
        )
    if df.empty:
        raise ValueError("input frame is empty: pass the recent windows of the series (timestamp, value)")
    ts = pd.to_datetime(df[TIMESTAMP])
    if ts.dt.tz is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    freq = FREQ[window]
    off_grid = ts[ts.dt.floor(freq) != ts]
    if len(off_grid):
        raise ValueError(
            f"timestamp {off_grid.iloc[0]} is not a {freq} window start; this model forecasts {window} windows "
            f"(floor the timestamps to {freq})"
        )
    if ts.duplicated().any():
        raise ValueError(f"timestamp {ts[ts.duplicated()].iloc[0]} appears twice: one row per window")
    y = pd.Series(pd.to_numeric(df[VALUE], errors="coerce").to_numpy(dtype=float), index=pd.DatetimeIndex(ts))
    y = y.sort_index()
    return y.reindex(pd.date_range(y.index[0], y.index[-1], freq=freq))


def _frame(index: pd.DatetimeIndex, fc: Forecast) -> pd.DataFrame:
    return pd.DataFrame(
        {
            TIMESTAMP: index,
            FORECAST: np.asarray(fc.mean, dtype=float),
            LOWER: np.asarray(fc.lower, dtype=float),
            UPPER: np.asarray(fc.upper, dtype=float),
        }
    )


def forecast_frame(model: Forecaster, df: pd.DataFrame, window: str, horizon: int) -> pd.DataFrame:
    """The `horizon` windows after the input's last one: timestamp, forecast, lower, upper."""
    y = history(df, window)
    fc = model.predict(y.to_numpy(), horizon, phase0=phase_of(y.index[0], window))
    step = pd.Timedelta(FREQ[window])
    return _frame(pd.date_range(y.index[-1] + step, periods=horizon, freq=FREQ[window]), fc)


def one_step_frame(model: Forecaster, df: pd.DataFrame, window: str) -> pd.DataFrame:
    """One-step forecasts of the input's windows from `model.warmup` on, each from the windows before it."""
    y = history(df, window)
    if len(y) <= model.warmup:
        raise ValueError(
            f"{len(y)} windows given; {model.name} forecasts one step from {model.warmup} windows of history on"
        )
    fc = model.one_step(y.to_numpy(), model.warmup, phase0=phase_of(y.index[0], window))
    return _frame(y.index[model.warmup :], fc)
