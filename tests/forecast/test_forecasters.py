"""Forecasters: one interface, intervals, reproducibility on CPU, and clear errors on bad series."""

from __future__ import annotations

import numpy as np
import pytest

from monitor_pipeline.forecast.arima import ARIMAForecaster, fourier
from monitor_pipeline.forecast.backtest import backtest
from monitor_pipeline.forecast.base import NotEnoughData, clean_series
from monitor_pipeline.forecast.metrics import mase, mase_scale, smape
from monitor_pipeline.forecast.naive import SeasonalNaive
from monitor_pipeline.forecast.neural import RNNForecaster

SEASON = 24


def series(days: int = 30, seed: int = 0) -> np.ndarray:
    """Hourly load: a daily cycle, a slow trend and AR(1) noise (what seasonal naive handles only so well)."""
    rng = np.random.default_rng(seed)
    n = days * SEASON
    noise = np.zeros(n)
    for t in range(1, n):
        noise[t] = 0.8 * noise[t - 1] + rng.normal(0, 3)
    t = np.arange(n)
    return 100 + 30 * np.sin(2 * np.pi * t / SEASON) + 0.05 * t + noise


def small_rnn(cell: str, **kw) -> RNNForecaster:
    return RNNForecaster(SEASON, cell=cell, horizon=6, hidden=16, epochs=8, device="cpu", **kw)


MODELS = {
    "seasonal_naive": lambda: SeasonalNaive(SEASON),
    "arima": lambda: ARIMAForecaster(SEASON),
    "lstm": lambda: small_rnn("lstm"),
    "gru": lambda: small_rnn("gru"),
}
# The fitted models below have seen series(days=FIT_DAYS) but its last HELD_OUT points. Twelve days are enough for
# what the tests that use them check (intervals, the orders found, a save's round trip, one-step forecasts).
FIT_DAYS, HELD_OUT = 12, 48


@pytest.fixture(scope="module")
def fitted():
    """Each model fitted once, on first use: an ARIMA fit searches 18 orders (seconds each), so the tests that only
    forecast from a fitted model share it. They do not change it (a test that would, saving it, takes a copy)."""
    cache: dict = {}

    def get(name: str):
        if name not in cache:
            cache[name] = MODELS[name]().fit(series(days=FIT_DAYS)[:-HELD_OUT])
        return cache[name]

    return get


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.slow
def test_every_model_fits_and_forecasts_with_intervals(name, fitted):
    y = series(days=FIT_DAYS)
    model = fitted(name)
    assert model.fitted and model.name == name
    fc = model.predict(y[:-HELD_OUT], 30)
    assert fc.mean.shape == fc.lower.shape == fc.upper.shape == (30,)
    assert np.all(fc.lower <= fc.mean) and np.all(fc.mean <= fc.upper) and np.all(np.isfinite(fc.mean))
    assert smape(y[-HELD_OUT:][:30], fc.mean) < 20  # in the right range (the series lives around 100 +- 30)


@pytest.mark.slow
def test_learned_models_beat_seasonal_naive_on_autocorrelated_noise():
    y = series(days=40, seed=1)
    naive = backtest(SeasonalNaive(SEASON), y, h=6, folds=30)
    arima = backtest(ARIMAForecaster(SEASON), y, h=6, folds=30)
    lstm = backtest(RNNForecaster(SEASON, "lstm", horizon=6, hidden=16, epochs=20, device="cpu"), y, h=6, folds=30)
    # AR(1) noise is ARIMA's home ground; the LSTM, on ~700 training windows, must still learn the correction.
    assert arima.mase < 0.8 * naive.mase and lstm.mase < 0.9 * naive.mase, (naive.mase, arima.mase, lstm.mase)
    assert 0.7 < arima.coverage <= 1.0 and 0.6 < lstm.coverage <= 1.0


@pytest.mark.slow
def test_arima_picks_a_seasonal_term_for_short_seasons_and_fourier_for_long_ones(fitted):
    m = fitted("arima")  # hourly: season 24
    assert m.order is not None and not m.fourier and np.isfinite(m.params()["aic"])
    long = ARIMAForecaster(288)
    assert long.fourier and fourier(5, 288, 2).shape == (5, 4)


def test_rnn_is_reproducible_on_cpu_and_records_epochs():
    y = series(days=20)
    a, b = small_rnn("lstm", seed=3).fit(y), small_rnn("lstm", seed=3).fit(y)
    assert np.array_equal(a.predict(y, 6).mean, b.predict(y, 6).mean)
    assert len(a.history) >= 1 and {"epoch", "train_loss", "val_loss"} <= set(a.history[0])
    assert a.params()["device"] == "cpu" and a.params()["mixed_precision"] is False


def test_long_horizon_rolls_forward():
    m = small_rnn("gru").fit(series(days=20))
    fc = m.predict(series(days=20), 15)  # horizon 6: three direct blocks
    assert fc.mean.shape == (15,) and np.all(np.diff(fc.upper - fc.lower)[5:6] >= 0)


def test_too_short_series_names_what_would_work():
    with pytest.raises(
        NotEnoughData,
        match=r"series has 40 points; lstm needs at least .* use a longer history or the "
        r"seasonal_naive model",
    ):
        small_rnn("lstm").fit(series()[:40])
    with pytest.raises(NotEnoughData, match="arima needs at least"):
        ARIMAForecaster(SEASON).fit(series()[:30])


def test_constant_series_is_for_the_baseline():
    y = np.full(500, 7.0)
    with pytest.raises(NotEnoughData, match="constant"):
        ARIMAForecaster(SEASON).fit(y)
    fc = SeasonalNaive(SEASON).fit(y).predict(y, 5)
    assert np.all(fc.mean == 7.0) and np.all(fc.upper == fc.lower)


def test_gaps_are_interpolated_and_mostly_missing_series_refused():
    y = series()
    y[100:110] = np.nan
    filled = clean_series(y)
    assert np.isfinite(filled).all() and filled[105] == pytest.approx(np.interp(105, [99, 110], [y[99], y[110]]))
    y[:300] = np.nan
    with pytest.raises(NotEnoughData, match="missing"):
        clean_series(y)


def test_metrics():
    train = np.array([1.0, 2, 3, 1, 2, 3])
    assert mase_scale(train, 3) != mase_scale(train, 3)  # a perfectly periodic history has no seasonal error: nan
    assert mase(np.array([2.0, 4]), np.array([1.0, 5]), 2.0) == 0.5
    assert smape(np.array([0.0, 100]), np.array([0.0, 50])) == pytest.approx(100 * (0 + 2 * 50 / 150) / 2)


@pytest.mark.parametrize("name", ["seasonal_naive", "arima", "gru"], ids=["naive", "arima", "gru"])
@pytest.mark.slow
def test_saved_state_rebuilds_the_same_forecaster(name, fitted, tmp_path):
    from monitor_pipeline.forecast.persist import STATE, load_state, read_extra, save_state

    y = series(days=FIT_DAYS)
    model = fitted(name)
    save_state(model, tmp_path / "m", {"window": "1h"})
    assert read_extra(tmp_path / "m") == {"window": "1h"} and (tmp_path / "m" / STATE).exists()
    again = load_state(tmp_path / "m")
    assert again.name == model.name and again.fitted and type(again) is type(model)
    a, b = model.predict(y, 12), again.predict(y, 12)
    # Bit for bit: weights, scaling, ARIMA parameters and interval widths all travel.
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_array_equal(a.upper, b.upper)
    np.testing.assert_array_equal(model.one_step(y, len(y) - 30).lower, again.one_step(y, len(y) - 30).lower)


def test_an_unfitted_or_unknown_state_is_refused(tmp_path):
    import json

    from monitor_pipeline.forecast.persist import STATE, load_state, save_state

    with pytest.raises(ValueError, match="only a fitted forecaster"):
        save_state(SeasonalNaive(SEASON), tmp_path / "u")
    save_state(SeasonalNaive(SEASON).fit(series(days=3)), tmp_path / "m")
    state = json.loads((tmp_path / "m" / STATE).read_text())
    (tmp_path / "m" / STATE).write_text(json.dumps({**state, "format": 0}))
    with pytest.raises(ValueError, match="retrain the forecaster"):
        load_state(tmp_path / "m")


@pytest.mark.parametrize("name", ["seasonal_naive", "arima", "lstm"], ids=["naive", "arima", "lstm"])
@pytest.mark.slow
def test_one_step_matches_predicting_each_window(name, fitted):
    y = series(days=FIT_DAYS)
    model = fitted(name)
    fast = model.one_step(y, len(y) - 10)
    slow = np.array([model.predict(y[:t], 1).mean[0] for t in range(len(y) - 10, len(y))])
    np.testing.assert_allclose(fast.mean, slow, rtol=1e-4)
    assert np.all(fast.lower < fast.upper) or model.name == "seasonal_naive"


def test_rnn_forecast_moves_with_a_level_shift():
    # Inputs are relative to the local level: a shift the training data never saw moves the forecast by that shift.
    y = series(days=20)
    model = small_rnn("lstm").fit(y)
    base, shifted = model.predict(y, 12), model.predict(y + 500.0, 12)
    np.testing.assert_allclose(shifted.mean - base.mean, 500.0, rtol=1e-4)
    np.testing.assert_allclose(shifted.upper - shifted.lower, base.upper - base.lower)


def test_rnn_smooths_noise_where_there_is_no_season():
    # Season 1 (seasonal naive = the last value): on a noisy level a blend of moving means beats it by ~30 %.
    rng = np.random.default_rng(4)
    y = 50 + np.repeat(rng.normal(0, 3, 8), 60) + rng.normal(0, 5, 480)
    naive = backtest(SeasonalNaive(1), y, h=6, folds=20)
    gru = backtest(RNNForecaster(1, "gru", horizon=6, window=30, hidden=16, epochs=10, device="cpu"), y, h=6, folds=20)
    assert gru.mase < 0.85 * naive.mase, (naive.mase, gru.mase)


def test_rnn_ensemble_averages_its_seeds():
    import torch

    y = series(days=20)
    model = small_rnn("gru", seeds=2).fit(y)
    assert len(model.model.members) == 2 and model.params()["seeds"] == 2
    z = (y - model.mu) / model.sd
    past, naive, level = model._inputs(z, np.array([len(z)]), 0)
    each = [m(torch.from_numpy(past), torch.from_numpy(naive)).detach().numpy()[0] for m in model.model.members]
    np.testing.assert_allclose(
        model.predict(y, 6).mean, (np.mean(each, axis=0) + level[0]) * model.sd + model.mu, rtol=1e-5
    )


def test_median_mix_finds_the_blend_despite_outliers():
    from monitor_pipeline.forecast.rnn_inputs import BASELINES, median_mix

    rng = np.random.default_rng(0)
    paths = rng.normal(size=(400, BASELINES, 3))
    target = 0.3 * paths[:, 0] + 0.7 * paths[:, 2]
    target[:20] += 50.0  # spikes a least-squares blend would chase
    mix = median_mix(paths.reshape(400, -1), target)
    expected = np.zeros((BASELINES, 3))
    expected[0], expected[2] = 0.3, 0.7
    np.testing.assert_allclose(mix, expected, atol=0.02)
