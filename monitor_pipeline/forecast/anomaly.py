"""Residual anomaly detection: score each window by how far it lands from its one-step forecast, group runs into events.

The scale of a residual is the larger of the forecast's own interval (as a normal sigma) and a robust scale (MAD) of
the model's one-step residuals over the calibration stretch just before the scored windows: an over-confident model
cannot flood the channel, and an under-confident one still flags what is far outside recent behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from monitor_pipeline.forecast.base import Forecast

MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class AnomalyRules:
    """Thresholds of the residual score and the static limits of one series."""

    z_warning: float = 4.0
    z_critical: float = 6.0
    min_windows: int = 2  # a warning needs this many anomalous windows in a row; a critical one stands alone
    max_gap: int = 1  # anomalous windows at most this many windows apart belong to one event
    debias_windows: int = 12  # residuals are taken relative to their median over this many previous windows (0: off)
    upper: float | None = None
    lower: float | None = None
    # A residual smaller than this (in the series' units) is never anomalous, whatever its z-score: a very smooth
    # series (GPU memory share) has so small a scale that a settled level a point lower would page for hours.
    min_deviation: float | None = None


def robust_one_step(
    model, y: np.ndarray, start: int, calib: int, phase0: int, z_mask: float, passes: int = 3
) -> Forecast:
    """One-step forecasts of y[start:] from a history in which windows already judged anomalous are replaced.

    A forecaster fed an incident learns it as the new level (an ARMA with a near-cancelling MA term even drifts away
    from it), so the windows after the onset look normal, or the forecasts run off and the end of the incident looks
    like a new one. Each pass replaces the windows whose residual is beyond `z_mask` sigmas with the forecast and
    forecasts again; a window's forecast still uses only the windows before it. `calib` leading points calibrate sigma.
    """
    values = np.asarray(y, dtype=float)
    history = values.copy()
    for _ in range(passes):
        fc = model.one_step(history, start, phase0=phase0)
        resid = values[start:] - fc.mean
        sigma = residual_scale(fc, resid[:calib])
        bad = np.abs(resid) >= z_mask * sigma
        cleaned = values.copy()
        cleaned[start:][bad] = fc.mean[bad]
        if np.array_equal(cleaned, history, equal_nan=True):
            break
        history = cleaned
    return fc


def residual_scale(fc: Forecast, calib_residuals: np.ndarray) -> np.ndarray:
    """Per-window sigma: max(interval half-width / z_(level), 1.4826 * MAD of calibration residuals)."""
    interval = (np.asarray(fc.upper) - np.asarray(fc.lower)) / (2 * NormalDist().inv_cdf(0.5 + fc.level / 2))
    r = np.asarray(calib_residuals, dtype=float)
    r = r[np.isfinite(r)]
    robust = MAD_TO_SIGMA * float(np.median(np.abs(r - np.median(r)))) if len(r) >= 10 else 0.0
    scale = np.maximum(interval, robust)
    # A series the model forecasts perfectly (a constant) still needs a floor, or any change is infinitely anomalous.
    floor = 1e-6 * max(1.0, float(np.nanmax(np.abs(fc.mean))) if len(fc.mean) else 1.0)
    return np.maximum(scale, floor)


def debiased_scores(calib: np.ndarray, resid: np.ndarray, sigma: np.ndarray, rules: AnomalyRules) -> np.ndarray:
    """z-scores of `resid` after subtracting the median of the previous `debias_windows` normal residuals.

    A model that is off by a slowly changing amount (a busier day, a drifting baseline) leaves a residual that moves
    slowly; subtracting its recent median keeps such drift from being paged. Residuals of windows already judged
    anomalous are kept out of that median, so a sustained incident stays anomalous and its end leaves no echo.
    Slow resource trends are the resource_forecast asset's job (time to threshold) and static thresholds'.
    """
    if rules.debias_windows <= 0:
        return resid / sigma
    normal = [float(r) for r in np.asarray(calib, dtype=float)[-rules.debias_windows :] if np.isfinite(r)]
    z = np.empty(len(resid))
    for i, r in enumerate(resid):
        recent = normal[-rules.debias_windows :]
        bias = float(np.median(recent)) if len(recent) >= max(1, rules.debias_windows // 2) else 0.0
        z[i] = (r - bias) / sigma[i]
        if np.isfinite(r) and abs(z[i]) < rules.z_warning:
            normal.append(float(r))
    return z


def score_windows(
    series: str,
    times: pd.DatetimeIndex,
    actual: np.ndarray,
    fc: Forecast,
    calib_residuals: np.ndarray,
    rules: AnomalyRules,
    model: str,
) -> pd.DataFrame:
    """One row per scored window: value, expected, interval, z-score and severity (none/warning/critical)."""
    actual = np.asarray(actual, dtype=float)
    sigma = residual_scale(fc, calib_residuals)
    if rules.min_deviation is not None:
        # A series quiet for the whole calibration (a queue that was always empty) has a scale near zero, so any
        # change scored z ~ 1e8. Its configured min_deviation is the smallest change the operator calls real: such a
        # change scores at most z_warning, which keeps z readable and the two thresholds consistent.
        sigma = np.maximum(sigma, rules.min_deviation / rules.z_warning)
    z = debiased_scores(calib_residuals, actual - fc.mean, sigma, rules)
    sev = np.where(np.abs(z) >= rules.z_critical, "critical", np.where(np.abs(z) >= rules.z_warning, "warning", "none"))
    if rules.min_deviation is not None:
        sev = np.where(np.abs(actual - fc.mean) < rules.min_deviation, "none", sev)
    static = np.zeros(len(actual), dtype=bool)
    if rules.upper is not None:
        static |= actual > rules.upper
    if rules.lower is not None:
        static |= actual < rules.lower
    sev = np.where(static, "critical", sev)
    sev = np.where(np.isfinite(actual), sev, "none")  # a missing window is a gap, not an anomaly
    return pd.DataFrame(
        {
            "series": series,
            "window_start": times,
            "value": actual,
            "expected": fc.mean,
            "lower": fc.lower,
            "upper": fc.upper,
            "score": z,
            "severity": sev,
            "static_breach": static,
            "model": model,
        }
    )


def events(scored: pd.DataFrame, rules: AnomalyRules) -> pd.DataFrame:
    """Runs of anomalous windows of each series as events (start, end, windows, peak score, severity)."""
    cols = ["series", "start", "end", "windows", "peak_score", "peak_value", "expected_at_peak", "severity", "model"]
    out = []
    for series, g in scored.sort_values("window_start").groupby("series", sort=True):
        g = g.reset_index(drop=True)
        idx = np.flatnonzero(g["severity"].to_numpy() != "none")
        if not len(idx):
            continue
        step = g["window_start"].diff().median() if len(g) > 1 else pd.Timedelta(minutes=5)
        splits = np.flatnonzero(np.diff(idx) > rules.max_gap + 1) + 1
        for run in np.split(idx, splits):
            part = g.iloc[run]
            critical = (part["severity"] == "critical").any()
            if not critical and len(run) < rules.min_windows:
                continue
            peak = part["score"].abs().idxmax()
            out.append(
                {
                    "series": series,
                    "start": part["window_start"].iloc[0],
                    "end": part["window_start"].iloc[-1] + step,
                    "windows": len(run),
                    "peak_score": float(g.at[peak, "score"]),
                    "peak_value": float(g.at[peak, "value"]),
                    "expected_at_peak": float(g.at[peak, "expected"]),
                    "severity": "critical" if critical else "warning",
                    "model": g.at[peak, "model"],
                }
            )
    return pd.DataFrame(out, columns=cols)


def correlate(found: pd.DataFrame, within: pd.Timedelta) -> pd.DataFrame:
    """Group events on different series that start within `within` of a group's first event: one incident, one alert.

    A traffic burst moves request count, latency, errors and GPU load together; paging each series separately is the
    alert storm on-call engineers learn to ignore. The lead series (largest |z|) names the group.
    """
    cols = [
        "series",
        "start",
        "end",
        "windows",
        "peak_score",
        "peak_value",
        "expected_at_peak",
        "severity",
        "model",
        "members",
    ]
    if not len(found):
        return pd.DataFrame(columns=cols)
    rows: list[dict] = []
    group: list[dict] = []
    for ev in found.sort_values(["start", "series"]).to_dict("records"):
        if group and ev["start"] > group[0]["start"] + within:
            rows.append(_merge(group))
            group = []
        group.append(ev)
    rows.append(_merge(group))
    return pd.DataFrame(rows, columns=cols)


def _merge(group: list[dict]) -> dict:
    lead = max(group, key=lambda e: abs(e["peak_score"]))
    return {
        **lead,
        "start": min(e["start"] for e in group),
        "end": max(e["end"] for e in group),
        "severity": "critical" if any(e["severity"] == "critical" for e in group) else "warning",
        "members": sorted({e["series"] for e in group}),
    }
