"""Window series: one regular time grid per configured series (and per `by` group), from the rows the warehouse read."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from monitor_pipeline.settings.forecast import SeriesConfig

PREFIX = {"request_windows": "requests", "resource_windows": "resources", "engine_windows": "engine"}
FREQ = {"5m": "5min", "1h": "1h"}
SEASON = {"5m": 288, "1h": 24}  # steps in a day: the cycle every forecaster is told about


def series_key(cfg: SeriesConfig, group: dict[str, str] | None = None) -> str:
    """`requests.latency_p95_ms{model=x}`: the same spelling the simulator's incident truth uses."""
    key = f"{PREFIX[cfg.table]}.{cfg.name}"
    return key + ("{" + ",".join(f"{k}={v}" for k, v in group.items()) + "}" if group else "")


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC start and end of a partition day."""
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    return start, start + dt.timedelta(days=1)


def _group_series(
    rows: pd.DataFrame, cfg: SeriesConfig, window: str, start: dt.datetime, end: dt.datetime
) -> dict[str, pd.Series]:
    """Each group's values (`rows`: window_start, the `by` columns, value) on the full [start, end) grid of `window`;
    missing windows 0 or NaN as `fill` says."""
    grid = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq=FREQ[window], inclusive="left")
    out: dict[str, pd.Series] = {}
    if rows.empty:
        return out
    df = rows.assign(window_start=pd.to_datetime(rows["window_start"], utc=True))
    groups = df.groupby(cfg.by, sort=True) if cfg.by else [((), df)]
    for values, g in groups:
        values = values if isinstance(values, tuple) else (values,)
        s = g.set_index("window_start")["value"].astype(float).reindex(grid)
        if cfg.fill == "zero":
            # Zero only from the group's first window on: before it the series did not exist yet (not idle).
            first = s.first_valid_index()
            s.loc[first:] = s.loc[first:].fillna(0.0)
        out[series_key(cfg, dict(zip(cfg.by, map(str, values), strict=True)))] = s
    return out


def window_series(
    rows: list[tuple[SeriesConfig, pd.DataFrame]], window: str, start: dt.datetime, end: dt.datetime
) -> dict[str, tuple[SeriesConfig, pd.Series]]:
    """Every configured series (per group) on the [start, end) grid, leading windows without data trimmed."""
    out: dict[str, tuple[SeriesConfig, pd.Series]] = {}
    for cfg, df in rows:
        for key, values in _group_series(df, cfg, window, start, end).items():
            first = values.first_valid_index()
            if first is not None:
                out[key] = (cfg, values.loc[first:])
    return out


def phase_of(ts: pd.Timestamp, window: str) -> int:
    """Position of a window start in the daily cycle (UTC)."""
    minutes = ts.hour * 60 + ts.minute
    return minutes // (5 if window == "5m" else 60)
