"""Champion versus challenger: the champion in force scored on tonight's backtest origins, and the decision."""

from __future__ import annotations

import numpy as np
import pandas as pd
from test_forecasters import SEASON, series

from monitor_pipeline.forecast.backtest import backtest
from monitor_pipeline.forecast.champions import ModelBacktest
from monitor_pipeline.forecast.naive import SeasonalNaive
from monitor_pipeline.forecast.promotion import KEEP, PROMOTE, Incumbent, compare


def _challenger(y: np.ndarray) -> ModelBacktest:
    model = SeasonalNaive(SEASON)
    result = backtest(model, y, h=6, folds=3)
    s = pd.Series(y, index=pd.date_range("2026-11-01", periods=len(y), freq="1h", tz="UTC"))
    return ModelBacktest("requests.count", "seasonal_naive", True, model, result, {}, {}, {}, s, 0, 6)


def test_the_champion_is_scored_on_the_same_origins_and_kept_only_when_better():
    y = series(days=6)
    bt = _challenger(y)
    assert compare(bt, None, "2026-11-07").decision == PROMOTE
    # A champion that forecasts the truth beats tonight's seasonal naive on the same origins: it stays.
    oracle = SeasonalNaive(SEASON).fit(y)
    oracle.predict = lambda history, h, phase0=0: _exact(y, len(history), h)  # type: ignore[method-assign]
    kept = compare(bt, Incumbent(oracle, 3, "2026-11-06"), "2026-11-07")
    assert kept.decision == KEEP and not kept.promote and kept.origins == [r["origin"] for r in bt.result.per_origin]
    assert kept.metrics()["champion.mase"] == 0.0 and kept.metrics()["challenger.mase"] == bt.result.mase
    table = kept.table()
    assert list(table["role"]) == ["challenger", "champion"] and set(table["decision"]) == {KEEP}
    assert kept.tags()["promotion.decision"] == KEEP and "same 3 origins" in kept.reason
    # The same model as champion ties: the challenger (trained on newer data) wins ties.
    tie = compare(bt, Incumbent(bt.forecaster, 3, "2026-11-06"), "2026-11-07")
    assert tie.decision == PROMOTE and tie.metrics()["champion.mase"] == tie.metrics()["challenger.mase"]


def test_backfills_and_reruns_never_compare_with_a_model_that_saw_the_day():
    bt = _challenger(series(days=6))
    later = compare(bt, Incumbent(bt.forecaster, 9, "2026-11-20"), "2026-11-07")
    assert later.promote and not later.move_alias and "later day" in later.reason  # the alias keeps the newest
    same = compare(bt, Incumbent(bt.forecaster, 9, "2026-11-07"), "2026-11-07")
    assert same.promote and same.move_alias
    other_season = compare(bt, Incumbent(SeasonalNaive(288).fit(series(days=13)), 9, "2026-11-01"), "2026-11-07")
    assert other_season.promote and "season of 288" in other_season.reason


def _exact(y: np.ndarray, origin: int, h: int):
    from monitor_pipeline.forecast.base import Forecast

    actual = y[origin : origin + h]
    return Forecast(actual, actual - 1, actual + 1)
