"""The SQL of the forecasting group: the configured window series, the GPUs' windows, and the tables it writes."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from monitor_pipeline.warehouse.tables import replace_partition, table_names

if TYPE_CHECKING:
    from monitor_pipeline.settings.forecast import ForecastingConfig, SeriesConfig

GPU_COLUMNS = ["window_start", "host", "device", "gpu_memory", "gpu_util"]
_GPU_WINDOWS = """
SELECT window_start, host, device, gpu_mem_used_mb_mean / nullif(gpu_mem_total_mb_mean, 0) AS gpu_memory,
       gpu_util_pct_mean AS gpu_util
FROM resource_windows
WHERE window_size = '5m' AND device LIKE 'gpu%' AND window_start >= ? AND window_start < ?
ORDER BY host, device, window_start
"""


def series_rows(
    con: duckdb.DuckDBPyConnection, cfg: SeriesConfig, window: str, start: dt.datetime, end: dt.datetime
) -> pd.DataFrame:
    """One configured series' value per window (and `by` group) in [start, end): window_start, the groups, value."""
    by = [f'"{c}"' for c in cfg.by]
    cols = ", ".join(["window_start", *by])
    where = f" AND ({cfg.where})" if cfg.where else ""
    sql = (
        f"SELECT {cols}, {cfg.value} AS value FROM {cfg.table} WHERE window_size = ? AND window_start >= ? "
        f"AND window_start < ?{where} GROUP BY {cols} ORDER BY {cols}"
    )
    try:
        return con.execute(sql, [window, start, end]).df()
    except Exception as exc:  # noqa: BLE001 - a typo in a configured expression: name the series and the SQL
        raise ValueError(f"forecasting.series {cfg.name!r}: {exc.__class__.__name__}: {exc} (SQL: {sql})") from None


def read_series(
    con: duckdb.DuckDBPyConnection, config: ForecastingConfig, start: dt.datetime, end: dt.datetime
) -> list[tuple[SeriesConfig, pd.DataFrame]]:
    """The rows of every configured series whose windows table exists, in the config's order."""
    tables = table_names(con)
    return [(s, series_rows(con, s, config.window, start, end)) for s in config.series if s.table in tables]


def read_gpu_windows(con: duckdb.DuckDBPyConnection, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    """The GPUs' 5-minute windows of [start, end) (empty when resource_windows does not exist yet)."""
    if "resource_windows" not in table_names(con):
        return pd.DataFrame(columns=GPU_COLUMNS)
    df = con.execute(_GPU_WINDOWS, [start, end]).df()
    df["window_start"] = pd.to_datetime(df["window_start"], utc=True)
    return df


ENGINE_COLUMNS = ["window_start", "host", "device", "kv_cache_usage", "waiting"]
# Per serving engine and model (all of a model's instances together): the fullest cache, the queues added up.
_ENGINE_WINDOWS = """
SELECT window_start, serving_engine AS host, model AS device, max(kv_cache_usage_max) AS kv_cache_usage,
       sum(waiting_max) AS waiting
FROM engine_windows
WHERE window_size = '5m' AND window_start >= ? AND window_start < ?
GROUP BY window_start, serving_engine, model
ORDER BY host, device, window_start
"""


def read_engine_windows(con: duckdb.DuckDBPyConnection, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    """The serving engines' 5-minute windows of [start, end) per engine and model (empty without engine_windows)."""
    if "engine_windows" not in table_names(con):
        return pd.DataFrame(columns=ENGINE_COLUMNS)
    df = con.execute(_ENGINE_WINDOWS, [start, end]).df()
    df["window_start"] = pd.to_datetime(df["window_start"], utc=True)
    return df


def write_backtests(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, day: dt.date) -> int:
    """The day's backtest rows (one per series and model) in `forecast_backtests`."""
    return replace_partition(con, "forecast_backtests", rows, day)


def write_anomalies(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, day: dt.date) -> int:
    """The day's anomalous windows in `anomalies`."""
    return replace_partition(con, "anomalies", rows, day)


def write_resource_forecasts(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, day: dt.date) -> int:
    """The day's GPU forecasts (one per device, metric and origin) in `resource_forecasts`."""
    return replace_partition(con, "resource_forecasts", rows, day)
