"""Scoring a day: every window of every series against its one-step forecast under the champion, runs grouped into events.

`score_day` is the forecasting stage's entry point for anomalies. Champions come from a loader the caller passes
(the model registry in the pipeline); a series without one falls back to a seasonal-naive fit on the days before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from monitor_pipeline.alerts.findings import Finding
from monitor_pipeline.escape import markdown_table
from monitor_pipeline.forecast.anomaly import AnomalyRules, correlate, events, robust_one_step, score_windows
from monitor_pipeline.forecast.base import Forecaster
from monitor_pipeline.forecast.selection import fallback
from monitor_pipeline.forecast.series import FREQ, SEASON, day_bounds, phase_of

if TYPE_CHECKING:
    from monitor_pipeline.settings.forecast import ForecastingConfig, SeriesConfig

# A registered champion and its version info ({"model": name, "version": ..., ...}), or None when there is none.
ChampionLoader = Callable[[str], tuple[Forecaster, dict] | None]
NO_CHAMPION = {"model": "seasonal_naive", "fallback": "no champion registered"}


def scoring_bounds(day: dt.date, config: ForecastingConfig) -> tuple[dt.datetime, dt.datetime]:
    """The [start, end) of the windows scoring `day` needs: the day, its calibration days and the model's input before."""
    day_start, day_end = day_bounds(day)
    # The model needs its input window and a season before the first calibration point.
    step = pd.Timedelta(FREQ[config.window])
    return day_start - (2 + config.calibration_days) * dt.timedelta(days=1) - 48 * step, day_end


@dataclass
class AnomalyResult:
    """The day's scored windows, the events they form (correlated across series) and which model scored each series."""

    day: dt.date
    config: ForecastingConfig = field(repr=False)
    series: int = 0
    windows: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per scored window
    events: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per (correlated) event
    models: dict[str, dict] = field(default_factory=dict)  # series -> the champion's version info, or the fallback
    skipped: dict[str, str] = field(default_factory=dict)  # series -> why it was not scored

    @property
    def anomalous(self) -> pd.DataFrame:
        """The windows whose severity is not `none` (what the warehouse keeps)."""
        return self.windows[self.windows["severity"] != "none"] if len(self.windows) else self.windows

    @property
    def critical(self) -> pd.DataFrame:
        """The critical events."""
        return self.events[self.events["severity"] == "critical"] if len(self.events) else self.events

    @property
    def critical_series(self) -> list[str]:
        """The lead series of the critical events, sorted."""
        return sorted(set(self.critical.get("series", [])))

    def params(self) -> dict[str, Any]:
        """The thresholds scored with, for the tracking run."""
        c = self.config
        return {
            "partition": self.day.isoformat(),
            "z_warning": c.z_warning,
            "z_critical": c.z_critical,
            "min_windows": c.min_windows,
            "series": self.series,
        }

    def metrics(self) -> dict[str, int]:
        """Windows scored, anomalous windows, events and critical events."""
        return {
            "windows_scored": len(self.windows),
            "anomalous_windows": len(self.anomalous),
            "events": len(self.events),
            "critical_events": len(self.critical),
        }

    def event_table(self) -> pd.DataFrame:
        """The events with times and members as text (an MLflow table)."""
        return self.events.astype({"start": str, "end": str, "members": str})

    def event_records(self) -> list[dict]:
        """The events as JSON-ready records (times as text)."""
        return [{**r, "start": str(r["start"]), "end": str(r["end"])} for r in self.events.to_dict("records")]

    def markdown(self) -> str:
        """The events as a markdown table, `(none)` when there are none."""
        df = self.events
        if not len(df):
            return "(none)"
        df = df.assign(start=df["start"].astype(str), end=df["end"].astype(str), members=df["members"].map(", ".join))

        def cell(v) -> str:
            return f"{v:.4g}" if isinstance(v, float) else str(v)

        return markdown_table(list(df.columns), [[cell(v) for v in r] for r in df.itertuples(index=False)])

    def findings(
        self,
        source: str,
        partition: str,
        dagster_run_id: str | None,
        mlflow_run_url: str | None,
        announced: set[str] | None = None,
    ) -> list[Finding]:
        """One finding per event, keyed by its lead series and naming the series that moved with it.

        `announced`: series already named in an earlier message (the live loop's earlier micro-batches). A series that
        joins an event already announced gets a finding of its own, so a second incident that starts while the first
        is still open is not folded silently into the first one's alert.
        """
        out = []
        for e in self.events.itertuples():
            others = [m for m in e.members if m != e.series]
            title = f"{e.series} {_direction(e.peak_value, e.expected_at_peak)} forecast"
            if others:
                more = f" and {len(others) - 4} more" if len(others) > 4 else ""
                title += f"; moved with it: {', '.join(others[:4])}{more}"
            out.append(
                Finding(
                    source=source,
                    rule="anomaly",
                    entity=e.series,
                    severity=e.severity,
                    title=title,
                    value=e.peak_value,
                    expected=e.expected_at_peak,
                    window_start=e.start.to_pydatetime(),
                    window_end=e.end.to_pydatetime(),
                    partition=partition,
                    detail={
                        "windows": int(e.windows),
                        "peak_z": round(e.peak_score, 2),
                        "model": e.model,
                        "series": list(e.members),
                    },
                    dagster_run_id=dagster_run_id,
                    mlflow_run_url=mlflow_run_url,
                )
            )
            if announced and announced & set(e.members):
                joined = [m for m in others if m not in announced]
                out += self._joined(e, joined, source, partition, dagster_run_id, mlflow_run_url)
        return out

    def _joined(
        self,
        event,
        series: list[str],
        source: str,
        partition: str,
        dagster_run_id: str | None,
        mlflow_run_url: str | None,
    ) -> list[Finding]:
        """Findings of the series that joined an already announced event (each at its own peak window)."""
        out = []
        w = self.windows
        step = pd.Timedelta(FREQ[self.config.window])
        for key in series:
            own = w[(w["series"] == key) & (w["severity"] != "none") & (w["window_start"] >= event.start)]
            if not len(own):
                continue
            peak = own.loc[own["score"].abs().idxmax()]
            out.append(
                Finding(
                    source=source,
                    rule="anomaly",
                    entity=key,
                    severity="critical" if (own["severity"] == "critical").any() else "warning",
                    title=f"{key} {_direction(peak['value'], peak['expected'])} forecast; joined the open event led "
                    f"by {event.series}",
                    value=float(peak["value"]),
                    expected=float(peak["expected"]),
                    window_start=own["window_start"].min().to_pydatetime(),
                    window_end=(own["window_start"].max() + step).to_pydatetime(),
                    partition=partition,
                    detail={
                        "windows": len(own),
                        "peak_z": round(float(peak["score"]), 2),
                        "model": peak["model"],
                        "series": [key],
                        "joined_event_of": event.series,
                    },
                    dagster_run_id=dagster_run_id,
                    mlflow_run_url=mlflow_run_url,
                )
            )
        return out


def _direction(value: float, expected: float) -> str:
    return "above" if value > expected else "below"


def _score_series(
    key: str,
    y: pd.Series,
    day_start: dt.datetime,
    model,
    model_name: str,
    rules: AnomalyRules,
    window: str,
    calib_points: int,
) -> pd.DataFrame:
    """Score the windows of y from day_start on; calibrate the residual scale on up to calib_points before them."""
    values = y.to_numpy()
    first = int(np.searchsorted(y.index, pd.Timestamp(day_start)))
    need = model.warmup
    begin = max(first - calib_points, need)
    if first >= len(values) or begin > first:
        raise ValueError(f"{key}: {first} windows of history before the day; {model_name} scores from {need} in")
    k = first - begin
    forecast = robust_one_step(model, values, begin, k, phase_of(y.index[0], window), rules.z_warning)
    calib = values[begin:first] - forecast.mean[:k]
    today = type(forecast)(forecast.mean[k:], forecast.lower[k:], forecast.upper[k:], forecast.level)
    return score_windows(key, y.index[first:], values[first:], today, calib, rules, model_name)


def score_day(
    series: dict[str, tuple[SeriesConfig, pd.Series]], day: dt.date, config: ForecastingConfig, champion: ChampionLoader
) -> AnomalyResult:
    """Score each series' windows of `day` under its champion (`champion(series_key)`), else a seasonal-naive fallback.

    `series` hold the windows of `scoring_bounds(day, config)`; a series without enough history is skipped with why.
    """
    day_start, _ = day_bounds(day)
    season = SEASON[config.window]
    step = pd.Timedelta(FREQ[config.window])
    calib_points = config.calibration_days * season
    out = AnomalyResult(day=day, config=config, series=len(series))
    scored = []
    for key, (scfg, y) in series.items():
        rules = AnomalyRules(
            config.z_warning,
            config.z_critical,
            config.min_windows,
            debias_windows=config.debias_windows,
            upper=scfg.upper,
            lower=scfg.lower,
            min_deviation=scfg.min_deviation,
        )
        y = y[y.index < y[y.notna()].index.max() + step]  # windows not yet arrived today are not zeros
        loaded = champion(key)
        model, name = (loaded[0], loaded[1]["model"]) if loaded else (None, "seasonal_naive")
        if model is None:
            model = fallback(y[y.index < day_start].to_numpy(), season, phase_of(y.index[0], config.window))
            if model is None:
                out.skipped[key] = "no champion and less than a day of history for the seasonal-naive fallback"
                continue
        try:
            part = _score_series(key, y, day_start, model, name, rules, config.window, calib_points)
        except ValueError as exc:
            out.skipped[key] = str(exc)
            continue
        out.models[key] = loaded[1] if loaded else dict(NO_CHAMPION)
        scored.append(part)
    out.windows = pd.concat(scored, ignore_index=True) if scored else pd.DataFrame()
    rules = AnomalyRules(config.z_warning, config.z_critical, config.min_windows)
    out.events = correlate(
        events(out.windows, rules) if len(out.windows) else pd.DataFrame(), config.correlate_windows * step
    )
    return out
