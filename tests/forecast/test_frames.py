"""forecast.frames: the pyfunc contract, a frame of recent windows in and the forecast with its interval out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_forecasters import SEASON, series

from monitor_pipeline.forecast.frames import forecast_frame, history, one_step_frame
from monitor_pipeline.forecast.naive import SeasonalNaive


def _frame(days: int = 3, start: str = "2026-11-01T05:00") -> pd.DataFrame:
    y = series(days=days)
    return pd.DataFrame({"timestamp": pd.date_range(start, periods=len(y), freq="1h"), "value": y})


def test_forecast_follows_the_last_window_with_intervals():
    df = _frame()
    model = SeasonalNaive(SEASON).fit(df["value"].to_numpy())
    out = forecast_frame(model, df, "1h", 5)
    assert list(out.columns) == ["timestamp", "forecast", "lower", "upper"]
    assert out["timestamp"].iloc[0] == df["timestamp"].iloc[-1] + pd.Timedelta("1h") and len(out) == 5
    np.testing.assert_array_equal(out["forecast"], df["value"].to_numpy()[-SEASON:][:5])
    assert (out["lower"] < out["forecast"]).all() and (out["forecast"] < out["upper"]).all()
    # Shuffled rows, a missing row and an aware time read the same as the clean frame.
    messy = df.drop(index=[10]).sample(frac=1, random_state=0)
    messy["timestamp"] = messy["timestamp"].dt.tz_localize("UTC").dt.tz_convert("Europe/Berlin")
    pd.testing.assert_frame_equal(forecast_frame(model, messy, "1h", 5), out)


def test_one_step_forecasts_the_input_windows_from_the_warmup_on():
    df = _frame()
    model = SeasonalNaive(SEASON).fit(df["value"].to_numpy())
    out = one_step_frame(model, df, "1h")
    assert len(out) == len(df) - SEASON and out["timestamp"].iloc[0] == df["timestamp"].iloc[SEASON]
    np.testing.assert_array_equal(out["forecast"], df["value"].to_numpy()[:-SEASON])
    with pytest.raises(ValueError, match=f"from {SEASON} windows of history"):
        one_step_frame(model, df.iloc[:SEASON], "1h")


def test_bad_frames_say_how_to_fix_them():
    df = _frame(days=1)
    with pytest.raises(ValueError, match="lacks column"):
        history(df.rename(columns={"value": "y"}), "1h")
    with pytest.raises(ValueError, match="not a 1h window start"):
        history(df.assign(timestamp=df["timestamp"] + pd.Timedelta("7min")), "1h")
    with pytest.raises(ValueError, match="appears twice"):
        history(pd.concat([df, df.iloc[:1]]), "1h")
    with pytest.raises(ValueError, match="empty"):
        history(df.iloc[:0], "1h")
