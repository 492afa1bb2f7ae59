"""Window series out of the warehouse: one regular time grid per configured series (and per `by` group)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from monitor_pipeline.settings import SeriesConfig

PREFIX = {"request_windows": "requests", "resource_windows": "resources"}
FREQ = {"5m": "5min", "1h": "1h"}
SEASON = {"5m": 288, "1h": 24}  # steps in a day: the cycle every forecaster is told about


def series_key(cfg: SeriesConfig, group: dict[str, str] | None = None) -> str:
    """`requests.latency_p95_ms{model=x}`: the same spelling the simulator's incident truth uses."""
    key = f"{PREFIX[cfg.table]}.{cfg.name}"
    return key + ("{" + ",".join(f"{k}={v}" for k, v in group.items()) + "}" if group else "")


def load_series(con, cfg: SeriesConfig, window: str, start: dt.datetime, end: dt.datetime) -> dict[str, pd.Series]:
    """Each group's values on the full [start, end) grid of `window`; missing windows 0 or NaN as `fill` says."""
    by = [f'"{c}"' for c in cfg.by]
    cols = ", ".join(["window_start", *by])
    where = f" AND ({cfg.where})" if cfg.where else ""
    sql = (f"SELECT {cols}, {cfg.value} AS value FROM {cfg.table} WHERE window_size = ? AND window_start >= ? "
           f"AND window_start < ?{where} GROUP BY {cols} ORDER BY {cols}")
    try:
        df = con.execute(sql, [window, start, end]).df()
    except Exception as exc:  # a typo in a configured expression: name the series and the SQL
        raise ValueError(f"forecasting.series {cfg.name!r}: {exc.__class__.__name__}: {exc} (SQL: {sql})") from None
    grid = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq=FREQ[window], inclusive="left")
    out: dict[str, pd.Series] = {}
    if df.empty:
        return out
    df["window_start"] = pd.to_datetime(df["window_start"], utc=True)
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


def phase_of(ts: pd.Timestamp, window: str) -> int:
    """Position of a window start in the daily cycle (UTC)."""
    minutes = ts.hour * 60 + ts.minute
    return minutes // (5 if window == "5m" else 60)
