"""Polynomial fits of latency and throughput (degree by cross-validation), the SLO-safe batch and the throughput knee.

Latency is fitted against x itself (it grows about linearly with batch size); throughput on log-log axes, ln(throughput)
against log2(x): linear scaling is then exactly degree 1 (slope = scaling exponent), saturation a concave low-degree
polynomial, and the fit stays positive. The degree is the smallest whose cross-validated error is within one standard
error of the best (the one-standard-error rule), so noise does not buy extra degrees.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

MIN_POINTS = 3  # distinct x values a fit needs; fewer is reported, not fitted


@dataclass
class CurveFit:
    """One fitted curve y(x); `coef` are the polynomial's coefficients (constant first) in the `transform` of x."""

    metric: str
    transform: str  # "x" or "log2(x)"
    y_transform: str = "y"  # "y" or "ln(y)": the polynomial predicts this
    status: str = "ok"  # ok | too_few_points
    reason: str = ""
    degree: int | None = None
    coef: list[float] = field(default_factory=list)
    r2: float | None = None
    cv_rmse: float | None = None
    cv_rmse_by_degree: dict[int, float] = field(default_factory=dict)
    n: int = 0
    x_min: float | None = None
    x_max: float | None = None

    def _t(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        return np.log2(x) if self.transform == "log2(x)" else x

    def predict(self, x) -> np.ndarray:
        """The fitted values at x (back on y's own scale)."""
        y = np.polynomial.polynomial.polyval(self._t(x), self.coef)
        return np.exp(y) if self.y_transform == "ln(y)" else y

    def as_dict(self) -> dict:
        """JSON-able fields."""
        return {k: v for k, v in asdict(self).items()}


def fit_curve(x, y, metric: str, log_x: bool = False, max_degree: int = 3, log_y: bool = False) -> CurveFit:
    """Least-squares polynomial y(x) (or ln y against log2 x); degree 1..max_degree by cross-validation, one-SE rule."""
    # scikit-learn (and the scipy.stats it pulls in) is imported here: every Dagster run process imports this module
    # through the code location, and ~1 s of CPU per live micro-batch is the price otherwise.
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import r2_score
    from sklearn.model_selection import KFold, LeaveOneOut, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & ((y > 0) if log_y else True)
    x, y = x[keep], y[keep]
    transform, y_transform = ("log2(x)" if log_x else "x"), ("ln(y)" if log_y else "y")
    distinct = len(np.unique(x))
    if distinct < MIN_POINTS:
        return CurveFit(
            metric,
            transform,
            y_transform,
            "too_few_points",
            n=len(x),
            reason=f"{distinct} distinct x values measured; a fit needs at least {MIN_POINTS}",
        )
    t = np.log2(x) if log_x else x
    yy = np.log(y) if log_y else y
    scale = float(np.max(np.abs(t))) or 1.0  # fit on t/scale (well conditioned), report coefficients in t
    tt = (t / scale).reshape(-1, 1)
    cv = LeaveOneOut() if len(x) <= 12 else KFold(5, shuffle=True, random_state=0)
    # With leave-one-out each training fold has n-1 points: a degree needs at least degree + 2 of them.
    degrees = range(1, max(1, min(max_degree, distinct - 2)) + 1)
    mse, se = {}, {}
    for d in degrees:
        model = make_pipeline(PolynomialFeatures(d), LinearRegression(fit_intercept=False))
        folds = -cross_val_score(model, tt, yy, cv=cv, scoring="neg_mean_squared_error")
        mse[d], se[d] = float(folds.mean()), float(folds.std(ddof=1) / np.sqrt(len(folds)))
    best = min(mse, key=lambda d: mse[d])
    degree = min(d for d in mse if mse[d] <= mse[best] + se[best])
    model = make_pipeline(PolynomialFeatures(degree), LinearRegression(fit_intercept=False)).fit(tt, yy)
    coef = model[-1].coef_ / scale ** np.arange(degree + 1)
    fit = CurveFit(
        metric,
        transform,
        y_transform,
        degree=degree,
        coef=[float(c) for c in coef],
        cv_rmse=float(np.sqrt(mse[degree])),
        cv_rmse_by_degree={d: float(np.sqrt(v)) for d, v in mse.items()},
        n=len(x),
        x_min=float(x.min()),
        x_max=float(x.max()),
    )
    fit.r2 = float(r2_score(y, fit.predict(x))) if np.ptp(y) > 0 else 1.0
    return fit


def slo_safe(points: pd.DataFrame, fit: CurveFit, slo_ms: float) -> dict:
    """The largest x whose p95 stays under the SLO: predicted by the fit (integers in the measured range) and measured."""
    p = points.sort_values("x")
    under = (p["latency_ms_p95"] <= slo_ms).to_numpy()
    first_over = int(np.argmin(under)) if not under.all() else len(under)
    measured = int(p["x"].iloc[first_over - 1]) if first_over else None
    out = {
        "slo_p95_ms": slo_ms,
        "slo_safe_measured": measured,
        "slo_safe": None,
        "slo_limited_by_range": False,
        "slo_reason": "",
    }
    if fit.status != "ok":
        out["slo_safe"] = measured
        out["slo_reason"] = f"no fit ({fit.reason}); the measured value is used"
    else:
        assert fit.x_min is not None and fit.x_max is not None  # an "ok" fit has its range
        grid = np.arange(int(fit.x_min), int(fit.x_max) + 1)
        ok = fit.predict(grid) <= slo_ms
        n_ok = int(np.argmin(ok)) if not ok.all() else len(ok)
        out["slo_safe"] = int(grid[n_ok - 1]) if n_ok else None
        if first_over < len(under) and out["slo_safe"] is not None and out["slo_safe"] >= p["x"].iloc[first_over]:
            # the fit never overrules a measured violation: an SLO answer errs on the safe side
            over = p.iloc[first_over]
            out["slo_safe"] = int(over["x"]) - 1 if int(over["x"]) - 1 >= p["x"].iloc[0] else None
            out["slo_reason"] = (
                f"capped below {over['axis']}={int(over['x'])}, measured p95 {over['latency_ms_p95']:.1f} ms "
                f"> SLO (the fit, R² {fit.r2:.2f}, predicted {int(grid[n_ok - 1])})"
            )
    first = f"{p['axis'].iloc[0]}={int(p['x'].iloc[0])}"
    if out["slo_safe"] is None and measured is None:
        out["slo_reason"] = (
            f"no batch meets the SLO: p95 at {first} is {p['latency_ms_p95'].iloc[0]:.1f} ms > {slo_ms:g} ms"
        )
    elif out["slo_safe"] is None:
        out["slo_reason"] = (
            f"the fitted p95 (R² {fit.r2:.2f}) exceeds {slo_ms:g} ms already at {first}, although "
            f"measured p95 stays under it up to {measured}: too noisy to call; add repetitions"
        )
    elif measured == int(p["x"].max()):
        out["slo_limited_by_range"] = True
        out["slo_reason"] = "every measured point meets the SLO: the safe batch may be larger than the sweep's range"
    return out


def knee(fit: CurveFit, elasticity: float = 0.1) -> dict:
    """Where throughput stops growing: from the knee on (over at least one doubling) d ln(tp)/d ln(x) < `elasticity`."""
    if fit.status != "ok":
        return {"knee": None, "knee_reason": f"no fit ({fit.reason})"}
    assert fit.x_min is not None and fit.x_max is not None  # an "ok" fit has its range
    grid = np.unique(np.round(np.geomspace(fit.x_min, fit.x_max, 400)).astype(int))
    tp = fit.predict(grid)
    peak = int(grid[int(np.argmax(tp))])
    if (tp <= 0).any():
        return {
            "knee": None,
            "throughput_peak_x": peak,
            "knee_reason": "the fitted throughput is not positive over the range",
        }
    el = np.gradient(np.log(tp), np.log(grid)) if len(grid) > 1 else np.array([0.0])
    below = el < elasticity
    if not below[-1]:
        return {
            "knee": None,
            "throughput_peak_x": peak,
            "knee_reason": f"throughput still grows at x={int(grid[-1])} (elasticity {el[-1]:.2f}); widen the sweep",
        }
    # the last stretch that stays below: its start is the knee, if that stretch spans at least one doubling of x
    start = len(below) - int(np.argmin(below[::-1])) if not below.all() else 0
    if grid[start] * 2 > grid[-1]:
        return {
            "knee": None,
            "throughput_peak_x": peak,
            "knee_reason": f"throughput flattens only from x={int(grid[start])}, less than a doubling before the "
            f"end of the sweep ({int(grid[-1])}); widen the sweep to confirm a knee",
        }
    return {"knee": int(grid[start]), "throughput_peak_x": peak, "knee_reason": ""}


def _reference(values, wanted: int | None) -> int | None:
    """`wanted` when measured, else the measured value nearest to it on a log scale (else the middle one)."""
    vals = sorted({int(v) for v in values if pd.notna(v)})
    if not vals:
        return None
    if wanted is None:
        return vals[len(vals) // 2]
    return min(vals, key=lambda v: (abs(np.log(v / wanted)), v))


def _curve_fits(pts: pd.DataFrame, max_degree: int) -> dict[str, CurveFit]:
    return {
        "latency_ms_p95": fit_curve(pts["x"], pts["latency_ms_p95"], "latency_ms_p95", False, max_degree),
        "latency_ms_p50": fit_curve(pts["x"], pts["latency_ms_p50"], "latency_ms_p50", False, max_degree),
        "throughput": fit_curve(pts["x"], pts["throughput"], "throughput", True, max_degree, log_y=True),
    }


def analyze_sweep(points: pd.DataFrame, role: str, cfg) -> dict:
    """Fits, SLO-safe x, knee and the reference throughput (with its noise) of one sweep's measured points."""
    ok = points[points["error"].isna()] if "error" in points else points
    out: dict = {
        "role": role,
        "points_ok": len(ok),
        "points_failed": len(points) - len(ok),
        "fits": {},
        "by_series": {},
    }
    if ok.empty:
        return out | {"status": "no_points", "reason": "no point was measured without error"}
    has_series = ok["series"].notna().any()
    training = role == "training"
    ref_series = _reference(ok["series"], None if training else cfg.reference_length) if has_series else None
    curve = ok[ok["series"] == ref_series] if has_series else ok
    ref_x = _reference(curve["x"], int(curve["x"].max()) if training else cfg.reference_batch)
    row = curve[curve["x"] == ref_x].iloc[0]
    fits = _curve_fits(curve, cfg.max_degree)
    out.update(
        status="ok" if all(f.status == "ok" for f in fits.values()) else "too_few_points",
        axis=str(row["axis"]),
        series_key=row["series_key"],
        reference_series=ref_series,
        reference_x=ref_x,
        throughput_ref=float(row["throughput"]),
        reps_ref=int(row["reps"]),
        # standard error of a median ≈ 1.2533 σ / √n, with σ from the repetitions' robust spread
        throughput_ref_rel_se=float(1.2533 * row["throughput_rel_sd"] / np.sqrt(row["reps"])),
        fits={k: f.as_dict() for k, f in fits.items()},
        reason="; ".join(sorted({f.reason for f in fits.values() if f.reason})),
    )
    if not training:
        out |= slo_safe(curve, fits["latency_ms_p95"], cfg.slo_p95_ms) | knee(fits["throughput"], cfg.knee_elasticity)
    if has_series:
        for s, pts in ok.groupby("series"):
            if s != ref_series:
                out["by_series"][f"{row['series_key']}={int(s)}"] = {
                    k: f.as_dict() for k, f in _curve_fits(pts, cfg.max_degree).items()
                }
        # the other axis: latency against input length (or hidden size) at the reference x
        across = ok[ok["x"] == ref_x]
        out["fits"][f"latency_ms_p50_vs_{row['series_key']}"] = fit_curve(
            across["series"], across["latency_ms_p50"], f"latency_ms_p50_vs_{row['series_key']}", False, cfg.max_degree
        ).as_dict()
    return out


def analyze(points: pd.DataFrame, cfg, roles: dict[str, str]) -> dict[str, dict]:
    """`analyze_sweep` for each sweep in the points, keyed by sweep name (`roles`: serving or training)."""
    if points.empty:
        return {}
    return {str(s): analyze_sweep(p, roles.get(str(s), "serving"), cfg) for s, p in points.groupby("sweep", sort=False)}
