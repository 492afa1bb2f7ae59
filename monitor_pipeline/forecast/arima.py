"""ARIMA/SARIMA (statsmodels SARIMAX), orders chosen by AIC over a small grid.

Short seasons (<= 24 steps, e.g. hourly data with a daily cycle) get a seasonal ARIMA term. Long ones (288 five-minute
steps a day) would make SARIMAX's state space hundreds of states wide and fits take minutes, so the daily cycle
enters as Fourier terms (exogenous sin/cos pairs) instead: dynamic harmonic regression with ARIMA errors.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np

from monitor_pipeline.forecast.base import Forecast, Forecaster

SEASONAL_MAX = 24


def fourier(n: int, season: int, k: int, phase0: int = 0) -> np.ndarray:
    """n rows of k sin/cos pairs of the seasonal cycle, starting at position phase0."""
    t = (np.arange(n) + phase0) / season
    return np.column_stack([f(2 * np.pi * j * t) for j in range(1, k + 1) for f in (np.sin, np.cos)])


def _near_unit(params, sign: int, margin: float = 1.05) -> bool:
    """Whether the non-seasonal lag polynomial 1 + sign*(p1 z + p2 z^2 ...) has a root inside |z| < margin."""
    p = np.atleast_1d(np.asarray(params, dtype=float))
    if not len(p) or not np.any(p):
        return False
    roots = np.roots(np.r_[sign * p[::-1], 1.0])
    return bool(np.any(np.abs(roots) < margin))


class ARIMAForecaster(Forecaster):
    """SARIMAX with (p, d, q)(P, D, Q) picked by AIC; Fourier exogenous terms for long seasons."""

    name = "arima"

    def __init__(
        self,
        season: int,
        level: float = 0.95,
        max_train: int | None = None,
        harmonics: int = 4,
        orders: tuple[tuple[int, int, int], ...] = ((1, 0, 0), (2, 0, 0), (1, 0, 1), (2, 0, 1), (0, 1, 1), (1, 1, 1)),
        seasonal_orders: tuple[tuple[int, int, int], ...] = ((0, 0, 0), (1, 0, 0), (0, 1, 1)),
    ) -> None:
        super().__init__(season, level)
        self.orders, self.seasonal_orders, self.harmonics = orders, seasonal_orders, harmonics
        # State-space fits grow linearly with length; the last weeks carry what an ARIMA can use.
        self.max_train = max_train or max(14 * season, 500)
        self.fourier = season > SEASONAL_MAX
        self.order: tuple[int, int, int] | None = None
        self.seasonal_order: tuple[int, int, int, int] = (0, 0, 0, 0)
        self.aic = float("nan")

    @property
    def min_length(self) -> int:
        return 2 * self.season + 10 if not self.fourier else self.season + 10

    def _exog(self, n: int, phase0: int) -> np.ndarray | None:
        return fourier(n, self.season, self.harmonics, phase0) if self.fourier else None

    def _fit(self, y: np.ndarray, phase0: int) -> None:
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        cut = max(0, len(y) - self.max_train)
        y, phase0 = y[cut:], (phase0 + cut) % self.season
        self.scale = float(np.std(y)) or 1.0  # fit on a unit scale: the optimiser is better behaved
        self.center = float(np.mean(y))
        z = (y - self.center) / self.scale
        exog = self._exog(len(z), phase0)
        seasonal = [(0, 0, 0)] if self.fourier else list(self.seasonal_orders)
        best = None
        for order, so in itertools.product(self.orders, seasonal):
            sorder = (*so, self.season if any(so) else 0)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # convergence chatter; a bad fit loses on AIC
                    # Invertibility enforced: an MA root on the unit circle (theta = -1 fits a noisy level well) makes
                    # the filtered one-step forecasts run away after a level shift: an anomaly that never ends.
                    # Near-unit MA roots and explosive AR roots are rejected below for the same reason (enforcing
                    # stationarity in the optimiser instead makes seasonal fits minutes long).
                    res = SARIMAX(
                        z,
                        exog=exog,
                        order=order,
                        seasonal_order=sorder,
                        trend="c" if order[1] == 0 else "n",
                        enforce_stationarity=False,
                        enforce_invertibility=True,
                    ).fit(disp=False, maxiter=50)
            except (ValueError, np.linalg.LinAlgError):
                continue
            if _near_unit(res.arparams, -1) or _near_unit(res.maparams, 1):
                continue  # (all but) explosive or non-invertible: a level shift sends the one-step forecasts adrift
            if np.isfinite(res.aic) and (best is None or res.aic < best[0]):
                best = (res.aic, order, sorder, res)
        if best is None:
            raise ValueError("no ARIMA order in the grid could be fitted")
        self.aic, self.order, self.seasonal_order, self.result = best

    def _predict(self, history: np.ndarray, h: int, phase0: int) -> Forecast:
        cut = max(0, len(history) - self.max_train)
        hist, phase0 = history[cut:], (phase0 + cut) % self.season
        z = (hist - self.center) / self.scale
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = self.result.apply(z, exog=self._exog(len(z), phase0))  # same parameters, filtered on this history
            predicted = res.get_forecast(h, exog=self._exog(h, (phase0 + len(z)) % self.season))
        mean = predicted.predicted_mean * self.scale + self.center
        ci = np.asarray(predicted.conf_int(alpha=1 - self.level)) * self.scale + self.center
        return Forecast(np.asarray(mean), ci[:, 0], ci[:, 1], self.level)

    def _one_step(self, y: np.ndarray, start: int, phase0: int) -> Forecast:
        # One Kalman pass over the history gives every one-step-ahead prediction at once.
        cut = max(0, start - self.max_train)
        hist, phase0 = y[cut:], (phase0 + cut) % self.season
        z = (hist - self.center) / self.scale
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = self.result.apply(z, exog=self._exog(len(z), phase0))
            pred = res.get_prediction(start=start - cut, end=len(z) - 1)
        mean = np.asarray(pred.predicted_mean) * self.scale + self.center
        ci = np.asarray(pred.conf_int(alpha=1 - self.level)) * self.scale + self.center
        return Forecast(mean, ci[:, 0], ci[:, 1], self.level)

    def params(self) -> dict:
        """Chosen orders and AIC."""
        return {
            **super().params(),
            "order": self.order,
            "seasonal_order": self.seasonal_order,
            "aic": round(self.aic, 2),
            "fourier_harmonics": self.harmonics if self.fourier else 0,
            "max_train": self.max_train,
        }
