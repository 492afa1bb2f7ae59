"""PNG plots of a sweep: measured points with the fitted curves, the SLO line, the SLO-safe batch and the knee."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from monitor_pipeline.plots import _empty, _save
from monitor_pipeline.scalability.fit import CurveFit


def _curve(ax, fit: dict, color: str, label: str) -> None:
    if fit.get("status") != "ok":
        return
    f = CurveFit(**fit)
    assert f.x_min is not None and f.x_max is not None  # an "ok" fit has its range
    grid = np.geomspace(f.x_min, f.x_max, 200)
    ax.plot(grid, f.predict(grid), color=color, lw=1.2, ls="--", label=f"{label} fit: degree {f.degree}, R² {f.r2:.3f}")


def sweep_plot(points: pd.DataFrame, summary: dict, path: str | Path, slo_ms: float | None = None) -> Path:
    """Latency p50/p95 and throughput against the swept x at the reference series, with fits and markers."""
    import matplotlib.pyplot as plt

    sweep = str(points["sweep"].iloc[0]) if len(points) else "sweep"
    fig, (lat, tp) = plt.subplots(1, 2, figsize=(12, 4.5))
    ok = points[points["error"].isna()] if "error" in points else points
    if ok.empty or summary.get("reference_x") is None:
        _empty(lat, f"{sweep}: latency")
        _empty(tp, f"{sweep}: throughput")
        return _save(fig, path)
    ref = summary.get("reference_series")
    pts = (ok[ok["series"] == ref] if ref is not None else ok).sort_values("x")
    where = f" ({summary['series_key']}={ref:g})" if ref is not None else ""
    axis = summary["axis"]
    fits = summary["fits"]
    lat.plot(pts["x"], pts["latency_ms_p50"], "o", color="tab:blue", label="p50 measured")
    lat.plot(pts["x"], pts["latency_ms_p95"], "s", color="tab:red", label="p95 measured")
    _curve(lat, fits["latency_ms_p50"], "tab:blue", "p50")
    _curve(lat, fits["latency_ms_p95"], "tab:red", "p95")
    if slo_ms is not None and summary.get("role") == "serving":
        lat.axhline(slo_ms, color="black", lw=0.8, label=f"SLO p95 {slo_ms:g} ms")
        if summary.get("slo_safe"):
            lat.axvline(summary["slo_safe"], color="green", lw=0.8, ls=":", label=f"SLO-safe {summary['slo_safe']}")
    lat.set(xscale="log", xlabel=axis, ylabel="latency (ms)", title=f"{sweep}: latency{where}")
    tp.plot(pts["x"], pts["throughput"], "o", color="tab:green", label="measured")
    _curve(tp, fits["throughput"], "tab:green", "throughput")
    if summary.get("knee"):
        tp.axvline(summary["knee"], color="purple", lw=0.8, ls=":", label=f"knee {summary['knee']}")
    unit = "samples/s" if summary.get("role") == "training" else ("requests/s" if axis == "concurrency" else "items/s")
    tp.set(xscale="log", xlabel=axis, ylabel=unit, title=f"{sweep}: throughput{where}")
    for ax in (lat, tp):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return _save(fig, path)


def sweep_plots(points: pd.DataFrame, analysis: dict[str, dict], folder: str | Path, slo_ms: float) -> list[Path]:
    """One PNG per sweep in `folder`."""
    return [sweep_plot(points[points["sweep"] == s], a, Path(folder) / f"{s}.png", slo_ms) for s, a in analysis.items()]
