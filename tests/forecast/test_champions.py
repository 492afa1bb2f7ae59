"""select_champions: every model backtested per series, one champion each, what each tracking run logs."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from test_forecasters import series

from monitor_pipeline.forecast.champions import history_bounds, select_champions
from monitor_pipeline.settings import ForecastingConfig, SeriesConfig

COUNT = SeriesConfig(name="count", table="request_windows", value="sum(requests)", models=["seasonal_naive", "arima"])
CONFIG = ForecastingConfig(window="1h", horizon=6, folds=3, history_days=8, series=[COUNT])
DAY = dt.date(2026, 11, 21)


def _hourly(values) -> pd.Series:
    start, _ = history_bounds(DAY, CONFIG.history_days)
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="1h"))


@pytest.mark.slow
def test_each_series_gets_one_champion_and_every_model_a_run(tmp_path):
    start, end = history_bounds(DAY, CONFIG.history_days)
    assert (start, end) == (dt.datetime(2026, 11, 13, tzinfo=dt.UTC), dt.datetime(2026, 11, 21, tzinfo=dt.UTC))
    result = select_champions(
        {"requests.count": (COUNT, _hourly(series(days=8))), "requests.short": (COUNT, _hourly(series(days=8)[:30]))},
        CONFIG,
        start,
        end,
    )
    assert result.series == 2 and result.history == "2026-11-13 .. 2026-11-20" and result.nothing_to_train is None
    runs = {bt.model: bt for bt in result.backtests}
    assert set(runs) == {"seasonal_naive", "arima"} and {bt.series for bt in result.backtests} == {"requests.count"}
    (champion,) = [bt for bt in result.backtests if bt.champion]
    assert champion.result.mase == min(bt.result.mase for bt in result.backtests)
    assert champion.tags == {"series": "requests.count", "model": champion.model, "champion": "true"}
    assert champion.params["train_points"] == 192 and champion.params["window"] == "1h"
    assert {"mase", "smape", "coverage", "fit_seconds", "predict_seconds"} == set(champion.metrics)
    assert champion.epochs == []  # only the neural models have a loss curve
    assert champion.plot(tmp_path).name == f"forecast_{champion.model}.png"
    assert set(result.skipped["requests.short"]) == {"seasonal_naive", "arima"}
    table = result.table()
    assert len(table) == 4 and table["skipped"].notna().sum() == 2
    assert "| champion |" in result.markdown() and "skipped: " in result.markdown()


def test_no_windows_before_the_day_is_a_clear_skip():
    result = select_champions({}, CONFIG, *history_bounds(DAY, CONFIG.history_days))
    assert result.backtests == [] and result.table().empty
    assert (
        result.nothing_to_train == "no windows between 2026-11-13 and 2026-11-21: nothing to train on before this day"
    )
