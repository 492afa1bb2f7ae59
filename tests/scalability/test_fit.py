"""Polynomial fits on synthetic curves with a known degree, SLO-safe batch and knee; too few points; no batch meets the SLO."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from monitor_pipeline.scalability.fit import analyze, fit_curve, knee, slo_safe
from monitor_pipeline.settings import ScalabilityConfig

BATCHES = np.array([1, 2, 4, 8, 16, 32, 64, 128, 256])


def _points(p95, throughput, x=BATCHES, sweep="minilm_inference") -> pd.DataFrame:
    n = len(x)
    return pd.DataFrame(
        {
            "sweep": sweep,
            "target": "synthetic",
            "axis": "batch_size",
            "x": x,
            "series_key": "length",
            "series": 64,
            "reps": 9,
            "latency_ms_p95": p95,
            "latency_ms_p50": np.asarray(p95) * 0.8,
            "throughput": throughput,
            "throughput_rel_sd": 0.02,
            "error": [None] * n,
        }
    )


@pytest.mark.parametrize("degree", [1, 2, 3])
def test_cross_validation_recovers_the_degree(degree):
    x = np.linspace(1, 64, 20)
    true = [5.0, 2.0, 0.05, 0.002][: degree + 1]
    fits = [
        fit_curve(
            x,
            np.polynomial.polynomial.polyval(x, true) + np.random.default_rng(seed).normal(0, 0.2, len(x)),
            "latency",
            max_degree=3,
        )
        for seed in range(20)
    ]
    # model selection under noise is right most of the time, not always (about 90% in 100 draws)
    assert sum(f.degree == degree for f in fits) >= 15
    fit = next(f for f in fits if f.degree == degree)
    assert fit.status == "ok" and fit.r2 > 0.999
    np.testing.assert_allclose(fit.coef[-1], true[-1], rtol=0.1)  # coefficients are in x's own units
    np.testing.assert_allclose(fit.predict([10.0]), np.polynomial.polynomial.polyval(10.0, true), rtol=0.02)


def test_slo_safe_batch_predicted_and_measured():
    p95 = 10 + 2.0 * BATCHES  # crosses 100 ms at batch 45
    fit = fit_curve(BATCHES, p95, "latency_ms_p95")
    out = slo_safe(_points(p95, BATCHES), fit, 100.0)
    assert out["slo_safe"] == 45 and out["slo_safe_measured"] == 32 and not out["slo_limited_by_range"]
    spiky = p95.copy()
    spiky[BATCHES == 32] = 150.0  # a measured violation the smooth fit would talk away
    out = slo_safe(_points(spiky, BATCHES), fit_curve(BATCHES, spiky, "latency_ms_p95"), 100.0)
    assert (
        out["slo_safe"] == 31 and out["slo_safe_measured"] == 16 and "capped below batch_size=32" in out["slo_reason"]
    )


def test_slo_no_batch_meets_and_range_limited():
    p95 = 150 + BATCHES
    out = slo_safe(_points(p95, BATCHES), fit_curve(BATCHES, p95, "p95"), 100.0)
    assert out["slo_safe"] is None and out["slo_safe_measured"] is None
    assert "no batch meets the SLO" in out["slo_reason"] and "batch_size=1" in out["slo_reason"]
    out = slo_safe(_points(p95, BATCHES), fit_curve(BATCHES, p95, "p95"), 10_000.0)
    assert out["slo_safe"] == 256 and out["slo_limited_by_range"]


def test_knee_where_throughput_stops_growing():
    tp = BATCHES / (1 + 0.1 * BATCHES)  # elasticity 1 / (1 + 0.1 x) < 0.1 from x = 90
    out = knee(fit_curve(BATCHES, tp, "throughput", log_x=True, log_y=True), 0.1)
    assert 64 <= out["knee"] <= 128, out
    linear = knee(fit_curve(BATCHES, 10.0 * BATCHES, "throughput", log_x=True, log_y=True), 0.1)
    assert linear["knee"] is None and "still grows" in linear["knee_reason"]


def test_too_few_points_is_reported_not_fitted():
    fit = fit_curve([1, 2], [3.0, 4.0], "latency")
    assert fit.status == "too_few_points" and "at least 3" in fit.reason and fit.degree is None
    a = analyze(_points([30.0, 40.0], [30.0, 50.0], x=np.array([1, 2])), ScalabilityConfig(slo_p95_ms=35), {})
    s = a["minilm_inference"]
    assert s["status"] == "too_few_points" and "at least 3" in s["reason"]
    assert s["slo_safe"] == 1 and "measured value is used" in s["slo_reason"]
    assert s["knee"] is None and s["throughput_ref"] == 50.0


def test_analyze_picks_reference_point_and_noise():
    tp = BATCHES / (1 + 0.1 * BATCHES)
    a = analyze(_points(10 + 2.0 * BATCHES, tp), ScalabilityConfig(slo_p95_ms=100, reference_batch=30), {})
    s = a["minilm_inference"]
    assert s["status"] == "ok" and s["reference_x"] == 32 and s["throughput_ref"] == pytest.approx(32 / 4.2)
    assert s["throughput_ref_rel_se"] == pytest.approx(1.2533 * 0.02 / 3)
    assert s["slo_safe"] == 45 and s["fits"]["latency_ms_p95"]["degree"] == 1


def test_failed_points_are_left_out_of_fits():
    pts = _points(10 + 2.0 * BATCHES, BATCHES / 2.0)
    pts.loc[pts["x"] >= 64, ["latency_ms_p95", "throughput"]] = np.nan
    pts.loc[pts["x"] >= 64, "error"] = "TargetError: HTTP 500"
    s = analyze(pts, ScalabilityConfig(), {})["minilm_inference"]
    assert s["points_ok"] == 6 and s["points_failed"] == 3 and s["fits"]["latency_ms_p95"]["n"] == 6
