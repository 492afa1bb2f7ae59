"""The forecaster interface: fit on a series, forecast h steps after any history, with prediction intervals."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np


class NotEnoughData(ValueError):
    """The series is too short (or too empty) for this model; the message says what would work."""


@dataclass
class Forecast:
    """Point forecast and a central prediction interval (`level`, e.g. 0.95)."""

    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    level: float = 0.95


def clean_series(y, max_gap_share: float = 0.2) -> np.ndarray:
    """A float series with NaN/inf gaps filled by linear interpolation (ends by the nearest value).

    Raises NotEnoughData when more than `max_gap_share` of it is missing: an interpolated series would be invented.
    """
    y = np.asarray(y, dtype=float).ravel()
    bad = ~np.isfinite(y)
    if bad.all():
        raise NotEnoughData("the series has no finite values")
    if bad.mean() > max_gap_share:
        raise NotEnoughData(
            f"{bad.mean():.0%} of the series is missing (more than {max_gap_share:.0%}); "
            "fill the gaps upstream or shorten the training window"
        )
    if bad.any():
        idx = np.arange(len(y))
        y = y.copy()
        y[bad] = np.interp(idx[bad], idx[~bad], y[~bad])
    return y


class Forecaster(ABC):
    """fit(y) once; predict(history, h) forecasts the h steps after `history` without refitting."""

    name: str = "forecaster"
    learns: bool = True  # a model with parameters to estimate; a constant series gives it nothing to learn

    def __init__(self, season: int, level: float = 0.95) -> None:
        if season < 1:
            raise ValueError("season must be >= 1 (steps per seasonal cycle, e.g. 288 for a day of 5-minute windows)")
        self.season, self.level = season, level
        self.fitted = False

    @property
    @abstractmethod
    def min_length(self) -> int:
        """Fewest points `fit` accepts."""

    def fit(self, y, phase0: int = 0) -> Forecaster:
        """Fit on the series `y` (gaps interpolated); `phase0` is the position of y[0] in the seasonal cycle."""
        y = clean_series(y)
        if len(y) < self.min_length:
            raise NotEnoughData(
                f"series has {len(y)} points; {self.name} needs at least {self.min_length} "
                f"({self._length_hint()}); use a longer history or the seasonal_naive model"
            )
        if self.learns and np.ptp(y) == 0:
            raise NotEnoughData(
                f"series is constant ({y[0]:g}); {self.name} has nothing to learn — seasonal_naive forecasts it exactly"
            )
        self._fit(y, phase0 % self.season)
        self.fitted = True
        return self

    def predict(self, history, h: int, phase0: int = 0) -> Forecast:
        """Forecast the `h` steps that follow `history` (fitted parameters kept); `phase0` as in fit."""
        if not self.fitted:
            raise RuntimeError(f"{self.name}: call fit() first")
        if h < 1:
            raise ValueError("h must be >= 1")
        return self._predict(clean_series(history), h, phase0 % self.season)

    def one_step(self, y, start: int, phase0: int = 0) -> Forecast:
        """One-step-ahead forecasts of y[start:], each from y[:t] only (the streaming view an anomaly detector needs)."""
        if not self.fitted:
            raise RuntimeError(f"{self.name}: call fit() first")
        y = clean_series(y)
        if not 0 < start < len(y):
            raise ValueError(f"start must be inside the series (1..{len(y) - 1})")
        return self._one_step(y, start, phase0 % self.season)

    def _one_step(self, y: np.ndarray, start: int, phase0: int) -> Forecast:
        parts = [self._predict(y[:t], 1, phase0) for t in range(start, len(y))]
        mean, lower, upper = (np.concatenate([getattr(p, f) for p in parts]) for f in ("mean", "lower", "upper"))
        return Forecast(mean, lower, upper, self.level)

    @property
    def warmup(self) -> int:
        """Fewest points of history `one_step` needs before its first scored point."""
        return 1

    def params(self) -> dict:
        """Hyper-parameters and fitted choices, for MLflow."""
        return {"model": self.name, "season": self.season, "level": self.level}

    def _length_hint(self) -> str:
        return "two seasonal cycles"

    @abstractmethod
    def _fit(self, y: np.ndarray, phase0: int) -> None: ...

    @abstractmethod
    def _predict(self, history: np.ndarray, h: int, phase0: int) -> Forecast: ...
