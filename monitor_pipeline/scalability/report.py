"""One benchmark end to end (targets → sweep → fits) and its JSON form, shared by the CLI and the Dagster asset."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from monitor_pipeline.scalability.fit import analyze
from monitor_pipeline.scalability.sweep import SweepResult, run_sweep
from monitor_pipeline.scalability.targets import build_targets
from monitor_pipeline.settings.scalability import ScalabilityConfig

SUMMARY_FIELDS = (
    "status",
    "reason",
    "axis",
    "series_key",
    "reference_series",
    "reference_x",
    "throughput_ref",
    "throughput_ref_rel_se",
    "slo_p95_ms",
    "slo_safe",
    "slo_safe_measured",
    "slo_limited_by_range",
    "slo_reason",
    "knee",
    "throughput_peak_x",
    "knee_reason",
    "points_ok",
    "points_failed",
)


@dataclass
class Benchmark:
    """A finished sweep: the target's name, the measurements and the per-sweep analysis."""

    target: str
    device: str
    result: SweepResult
    analysis: dict[str, dict]

    @property
    def status(self) -> str:
        """success (every point measured and fitted), partial (some), or failed (nothing to fit)."""
        fitted = [a for a in self.analysis.values() if a.get("status") == "ok"]
        if self.result.complete and self.analysis and len(fitted) == len(self.analysis):
            return "success"
        return "partial" if fitted else "failed"


def run_benchmark(
    cfg: ScalabilityConfig,
    log: Callable[[str], None] | None = None,
    env: dict | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Benchmark:
    """Build the configured targets, sweep them and fit the results (raises ConfigError for a bad config only).

    `progress(points_done, points)` follows the sweep (run_sweep)."""
    targets = build_targets(cfg, env)
    result = run_sweep(targets, cfg, log, progress)
    analysis = analyze(result.points, cfg, {t.sweep: t.role for t in targets})
    return Benchmark(
        " + ".join(t.name for t in targets), ",".join(sorted({t.device for t in targets})), result, analysis
    )


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    if hasattr(v, "item"):  # numpy scalars
        return _clean(v.item())
    return v


def points_records(points: pd.DataFrame) -> list[dict]:
    """The measurements as JSON-able rows (NaN → null)."""
    return [_clean(r) for r in points.astype(object).where(points.notna(), None).to_dict("records")]


def to_json(b: Benchmark, quick: bool = False) -> dict:
    """The one JSON object `monitor-pipeline benchmark` prints: summary per sweep, fits with R², points, errors."""
    summary = {
        s: {k: a.get(k) for k in SUMMARY_FIELDS if k in a}
        | {"r2": {m: f.get("r2") for m, f in a.get("fits", {}).items()}}
        for s, a in b.analysis.items()
    }
    first = next((s for s, a in b.analysis.items() if a.get("role") == "serving"), next(iter(b.analysis), None))
    head = summary.get(first, {}) if first is not None else {}
    return _clean(
        {
            "target": b.target,
            "device": b.device,
            "quick": quick,
            "status": b.status,
            "complete": b.result.complete,
            "seconds": round(b.result.seconds, 2),
            "slo_safe_batch": head.get("slo_safe"),
            "knee": head.get("knee"),
            "throughput_ref": head.get("throughput_ref"),
            "reference_x": head.get("reference_x"),
            "summary": summary,
            "fits": {
                s: {"fits": a.get("fits", {}), "by_series": a.get("by_series", {})} for s, a in b.analysis.items()
            },
            "points": points_records(b.result.points),
            "errors": b.result.errors,
        }
    )
