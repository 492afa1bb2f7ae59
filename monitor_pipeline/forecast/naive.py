"""Seasonal naive: tomorrow at 10:05 is today at 10:05. The baseline every model must beat."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from monitor_pipeline.forecast.base import Forecast, Forecaster


class SeasonalNaive(Forecaster):
    """y[t+k] = y[t+k-season]; intervals from the spread of in-sample seasonal differences."""

    name = "seasonal_naive"
    learns = False

    @property
    def min_length(self) -> int:
        return self.season + 2

    @property
    def warmup(self) -> int:
        return self.season

    def _length_hint(self) -> str:
        return "one seasonal cycle plus two points"

    def _fit(self, y: np.ndarray, phase0: int) -> None:
        diff = y[self.season :] - y[: -self.season]
        self.sigma = float(np.std(diff)) if len(diff) > 1 else 0.0

    def _predict(self, history: np.ndarray, h: int, phase0: int) -> Forecast:
        if len(history) < self.season:
            raise ValueError(f"seasonal_naive needs at least one cycle ({self.season} points) of history")
        last = history[-self.season :]
        k = np.arange(h)
        mean = last[k % self.season]
        # Each further cycle ahead repeats an older value: the error variance grows with the cycles spanned.
        width = NormalDist().inv_cdf(0.5 + self.level / 2) * self.sigma * np.sqrt(k // self.season + 1)
        return Forecast(mean, mean - width, mean + width, self.level)

    def _one_step(self, y: np.ndarray, start: int, phase0: int) -> Forecast:
        if start < self.season:
            raise ValueError(f"seasonal_naive scores from one cycle ({self.season} points) in")
        mean = y[start - self.season : len(y) - self.season]
        width = NormalDist().inv_cdf(0.5 + self.level / 2) * self.sigma
        return Forecast(mean, mean - width, mean + width, self.level)
