"""The forecasting group's SQL: configured series read per group onto their grid, GPU windows, bad expressions named."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from monitor_pipeline.forecast.series import window_series
from monitor_pipeline.settings import ForecastingConfig, SeriesConfig
from monitor_pipeline.warehouse.forecasting import read_gpu_windows, read_series

START, END = dt.datetime(2026, 11, 20, tzinfo=dt.UTC), dt.datetime(2026, 11, 20, 1, tzinfo=dt.UTC)


def _windows() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    t = pd.Timestamp(START)
    con.execute(
        "CREATE TABLE request_windows (window_size VARCHAR, window_start TIMESTAMPTZ, model VARCHAR, requests INT)"
    )
    con.executemany(
        "INSERT INTO request_windows VALUES (?, ?, ?, ?)",
        [
            ("5m", t + pd.Timedelta(minutes=10), "a", 3),
            ("5m", t + pd.Timedelta(minutes=10), "b", 4),
            ("5m", t + pd.Timedelta(minutes=30), "a", 5),
            ("1h", t, "a", 8),
        ],
    )
    return con


def test_series_are_read_per_group_onto_the_grid_and_a_missing_table_is_skipped():
    count = SeriesConfig(name="count", table="request_windows", value="sum(requests)", fill="zero")
    per_model = SeriesConfig(name="requests", table="request_windows", value="sum(requests)", by=["model"])
    gpu = SeriesConfig(name="gpu", table="resource_windows", value="avg(gpu_util_pct_mean)")
    config = ForecastingConfig(series=[count, per_model, gpu])
    rows = read_series(_windows(), config, START, END)
    assert [s.name for s, _ in rows] == ["count", "requests"]  # no resource_windows table yet
    series = window_series(rows, config.window, START, END)
    assert list(series) == ["requests.count", "requests.requests{model=a}", "requests.requests{model=b}"]
    total = series["requests.count"][1]
    assert total.index[0] == pd.Timestamp(START) + pd.Timedelta(minutes=10)  # leading windows without data trimmed
    assert total.tolist() == [7.0, 0.0, 0.0, 0.0, 5.0] + [0.0] * 5  # zero-filled from the first window on
    only_b = series["requests.requests{model=b}"][1]
    assert only_b.iloc[0] == 4.0 and only_b.iloc[1:].isna().all()  # `interpolate`: gaps stay NaN until cleaned


def test_a_typo_in_a_configured_expression_names_the_series():
    bad = SeriesConfig(name="count", table="request_windows", value="sum(requets)")
    with pytest.raises(ValueError, match=r"forecasting.series 'count': .*requets"):
        read_series(_windows(), ForecastingConfig(series=[bad]), START, END)


def test_gpu_windows_are_empty_before_resource_windows_exist():
    df = read_gpu_windows(duckdb.connect(), START, END)
    assert df.empty and list(df.columns) == ["window_start", "host", "device", "gpu_memory", "gpu_util"]
