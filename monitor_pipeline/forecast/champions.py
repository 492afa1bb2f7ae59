"""Champions: every configured model backtested per series on the days before a partition; the best is the champion.

`select_champions` is the forecasting stage's entry point for training. It returns what each model's tracking run
logs (tags, params, metrics, loss curve, a plot of its last backtest fold), the champion per series and the backtest
table; registering the champions and logging the runs is the caller's (it holds the tracking store).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from monitor_pipeline.escape import markdown_table
from monitor_pipeline.forecast.backtest import BacktestResult
from monitor_pipeline.forecast.base import Forecaster
from monitor_pipeline.forecast.selection import select
from monitor_pipeline.forecast.series import SEASON, day_bounds, phase_of

if TYPE_CHECKING:
    from monitor_pipeline.settings.forecast import ForecastingConfig, SeriesConfig


def history_bounds(day: dt.date, history_days: int) -> tuple[dt.datetime, dt.datetime]:
    """The [start, end) of the windows a partition's champions train on: the `history_days` days before it."""
    return day_bounds(day - dt.timedelta(days=history_days))[0], day_bounds(day)[0]


@dataclass
class ModelBacktest:
    """One model of one series: its backtest, what its tracking run logs, and the fitted model."""

    series: str
    model: str
    champion: bool
    forecaster: Forecaster
    result: BacktestResult
    tags: dict[str, str]
    params: dict[str, Any]
    metrics: dict[str, float]
    y: pd.Series = field(repr=False)
    phase0: int = 0
    horizon: int = 1

    @property
    def epochs(self) -> list[tuple[int, dict[str, float]]]:
        """(epoch, train and validation loss) of a neural model's training; empty for the others."""
        return [
            (e["epoch"], {"train_loss": e["train_loss"], "val_loss": e["val_loss"]})
            for e in getattr(self.forecaster, "history", [])
        ]

    def plot(self, directory: str | Path) -> Path:
        """A PNG of the forecast made at the backtest's last origin against what came after it."""
        from monitor_pipeline.plots import forecast_plot

        origin = self.result.per_origin[-1]["origin"]
        values = self.y.to_numpy()
        fc = self.forecaster.predict(values[:origin], self.horizon, phase0=self.phase0)
        return forecast_plot(
            self.y.index,
            values,
            origin,
            fc,
            f"{self.series}: {self.model} (MASE {self.result.mase:.2f})",
            Path(directory) / f"forecast_{self.model}.png",
        )


@dataclass
class ChampionsResult:
    """Every backtested model per series (series in the config's order, models cheapest first) and the skipped ones."""

    start: dt.datetime
    end: dt.datetime
    series: int = 0
    backtests: list[ModelBacktest] = field(default_factory=list)
    skipped: dict[str, dict[str, str]] = field(default_factory=dict)  # series -> model -> why
    rows: list[dict] = field(default_factory=list)  # one per series and model: errors and fit time, or why skipped

    @property
    def history(self) -> str:
        """The days trained on, `first .. last`."""
        return f"{self.start.date()} .. {self.end.date() - dt.timedelta(days=1)}"

    @property
    def nothing_to_train(self) -> str | None:
        """Why nothing was trained (no windows at all before the day), else None."""
        if self.series:
            return None
        return f"no windows between {self.start.date()} and {self.end.date()}: nothing to train on before this day"

    def table(self) -> pd.DataFrame:
        """The backtest rows as the warehouse stores them (`skipped` is None for a model that ran)."""
        return pd.DataFrame([{**r, "skipped": r.get("skipped")} for r in self.rows])

    def markdown(self) -> str:
        """Series, model, MASE, sMAPE, coverage, fit seconds and which model is champion (or why one was skipped)."""
        return markdown_table(
            ["series", "model", "MASE", "sMAPE", "coverage", "fit s", ""],
            [
                [r["series"], r["model"], "", "", "", "", f"skipped: {r['skipped'][:80]}"]
                if "skipped" in r
                else [
                    r["series"],
                    r["model"],
                    f"{r['mase']:.3f}",
                    f"{r['smape']:.1f}",
                    f"{r['coverage']:.2f}",
                    f"{r['fit_s']:.1f}",
                    "champion" if r["champion"] else "",
                ]
                for r in self.rows
            ],
        )


def select_champions(
    series: dict[str, tuple[SeriesConfig, pd.Series]], config: ForecastingConfig, start: dt.datetime, end: dt.datetime
) -> ChampionsResult:
    """Backtest each series' models (its own list, else `config.models`) on its windows; the lowest MASE is champion.

    `series` are the windows of [start, end) by series key (see `forecast.series.window_series`).
    """
    out = ChampionsResult(start=start, end=end, series=len(series))
    season = SEASON[config.window]
    for key, (scfg, y) in series.items():
        phase0 = phase_of(y.index[0], config.window)
        sel = select(
            y.to_numpy(),
            scfg.models or config.models,
            season,
            config.horizon,
            config.folds,
            phase0=phase0,
            epochs=config.epochs,
            hidden=config.hidden,
            seed=config.seed,
        )
        out.skipped[key] = dict(sel.skipped)
        for name, res in sel.results.items():
            model = sel.models[name]
            out.backtests.append(
                ModelBacktest(
                    series=key,
                    model=name,
                    champion=name == sel.best,
                    forecaster=model,
                    result=res,
                    tags={"series": key, "model": name, "champion": str(name == sel.best).lower()},
                    params={
                        **model.params(),
                        "series": key,
                        "window": config.window,
                        "horizon": config.horizon,
                        "folds": config.folds,
                        "train_points": len(y),
                        "train_start": y.index[0].isoformat(),
                    },
                    metrics={
                        "mase": res.mase,
                        "smape": res.smape,
                        "coverage": res.coverage,
                        "fit_seconds": res.fit_seconds,
                        "predict_seconds": res.predict_seconds,
                    },
                    y=y,
                    phase0=phase0,
                    horizon=config.horizon,
                )
            )
        out.rows += [{"series": key, **r} for r in sel.table()]
    return out
