"""Compare a sweep with the previous champion run: throughput drops beyond measured noise, a shrinking SLO-safe batch.

Noise at the reference point is estimated two ways and the larger wins:
- within a run: the repetitions' robust spread (1.4826 × MAD / median) gives the standard error of each run's median
  throughput (1.2533 σ / √reps); the difference of two medians has SE √(se_now² + se_champion²);
- across runs: the relative standard deviation of the reference throughput over the last `history_runs` successful
  runs (at least 3), × √2 for a difference of two runs. This catches what repetitions cannot see (a busier machine,
  thermal state, another tenant).
A drop alerts when it exceeds both `noise_z` × that noise and `min_drop`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from monitor_pipeline.alerts.findings import Severity

SUMMARY_KEYS = (
    "throughput_ref",
    "throughput_ref_rel_se",
    "reference_x",
    "reference_series",
    "slo_safe",
    "slo_safe_measured",
    "knee",
    "points_ok",
    "points_failed",
)


@dataclass
class Regression:
    """One alert-worthy difference (or problem) of this sweep; becomes a Finding (review.BenchmarkReview.findings)."""

    rule: str
    sweep: str
    severity: Severity
    title: str
    value: float | None = None
    threshold: float | None = None
    expected: float | None = None
    detail: dict = field(default_factory=dict)


def flatten(analysis: dict[str, dict]) -> dict[str, float]:
    """`{sweep}.{key}` numbers of each sweep's summary, as MLflow metrics (what the next run compares with)."""
    out = {}
    for sweep, a in analysis.items():
        for k in SUMMARY_KEYS:
            v = a.get(k)
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
                out[f"{sweep}.{k}"] = float(v)
    return out


def unflatten(metrics: dict[str, float]) -> dict[str, dict]:
    """The inverse of `flatten` (MLflow metrics of a run → per-sweep summaries)."""
    out: dict[str, dict] = {}
    for name, v in metrics.items():
        sweep, _, key = name.rpartition(".")
        if sweep and key in SUMMARY_KEYS:
            out.setdefault(sweep, {})[key] = v
    return out


def noise(current: dict, champion: dict, history: list[float]) -> dict:
    """Relative noise of a difference in reference throughput (see the module docstring); its parts for the record."""
    within = math.hypot(current.get("throughput_ref_rel_se") or 0.0, champion.get("throughput_ref_rel_se") or 0.0)
    across = None
    if len(history) >= 3 and np.mean(history) > 0:
        across = float(math.sqrt(2) * np.std(history, ddof=1) / np.mean(history))
    return {
        "within_run": within,
        "across_runs": across,
        "history_runs": len(history),
        "noise": max(within, across or 0.0),
    }


def compare(
    current: dict[str, dict],
    champion: dict[str, dict] | None,
    history: dict[str, list[float]],
    cfg,
    errors: list[str] | None = None,
) -> tuple[list[Regression], dict[str, dict]]:
    """Regressions of `current` against `champion` (per sweep), plus an incomplete sweep and an SLO nobody meets."""
    regs, notes = [], {}
    for sweep, cur in current.items():
        note: dict = {}
        # SLO findings need the whole curve: an incomplete sweep is reported as such, not as a shrunk SLO-safe batch
        slo_comparable = cur.get("role") == "serving" and cur.get("points_ok") and not cur.get("points_failed")
        if slo_comparable and cur.get("slo_safe") is None:
            regs.append(
                Regression(
                    "scalability.slo_unmet",
                    sweep,
                    "warning",
                    f"{sweep}: {cur.get('slo_reason')}",
                    threshold=cfg.slo_p95_ms,
                    detail={"reason": cur.get("slo_reason")},
                )
            )
        champ = (champion or {}).get(sweep)
        if not champ:
            notes[sweep] = {"compared": False, "reason": "no champion run of this target yet"}
            continue
        same = champ.get("reference_x") == cur.get("reference_x") and champ.get("reference_series") == cur.get(
            "reference_series"
        )
        if cur.get("throughput_ref") is None or not same:
            note["throughput"] = "not comparable: the reference point differs from the champion's or was not measured"
        else:
            n = noise(cur, champ, history.get(sweep, []))
            drop = 1 - cur["throughput_ref"] / champ["throughput_ref"]
            limit = max(cfg.noise_z * n["noise"], cfg.min_drop)
            note |= {"throughput_drop": drop, "drop_threshold": limit, **n}
            if drop > limit:
                regs.append(
                    Regression(
                        "scalability.throughput_drop",
                        sweep,
                        "critical" if drop > 2 * limit else "warning",
                        f"{sweep}: throughput at x={cur['reference_x']:g} fell {drop:.1%} "
                        f"({champ['throughput_ref']:.4g} → {cur['throughput_ref']:.4g}/s; noise threshold {limit:.1%})",
                        value=cur["throughput_ref"],
                        expected=champ["throughput_ref"],
                        threshold=limit,
                        detail={"drop": drop, **n, "reference_x": cur["reference_x"]},
                    )
                )
        if slo_comparable and champ.get("slo_safe") is not None:
            was, now = champ["slo_safe"], cur.get("slo_safe")
            note |= {"slo_safe_champion": was, "slo_safe": now}
            if now is None or now < was * (1 - cfg.slo_shrink_tolerance):
                regs.append(
                    Regression(
                        "scalability.slo_safe_shrink",
                        sweep,
                        "critical" if now is None else "warning",
                        f"{sweep}: SLO-safe batch shrank from {was:g} to {now if now is not None else 'none'} "
                        f"(p95 ≤ {cfg.slo_p95_ms:g} ms)",
                        value=now,
                        expected=was,
                        threshold=cfg.slo_p95_ms,
                        detail={"tolerance": cfg.slo_shrink_tolerance},
                    )
                )
        notes[sweep] = {"compared": True, **note}
    if errors:
        regs.append(
            Regression(
                "scalability.sweep_incomplete",
                "all",
                "warning",
                f"sweep incomplete: {len(errors)} problem(s); first: {errors[0][:300]}",
                value=float(len(errors)),
                detail={"errors": errors[:20]},
            )
        )
    return regs, notes
