"""A finished benchmark against the target's champion run: its regressions, what a run records, and its findings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from monitor_pipeline.alerts.findings import Finding
from monitor_pipeline.escape import markdown_table
from monitor_pipeline.scalability.compare import Regression, compare, flatten
from monitor_pipeline.scalability.plots import sweep_plots
from monitor_pipeline.scalability.report import Benchmark, to_json
from monitor_pipeline.settings.scalability import ScalabilityConfig

NOTE_METRICS = ("throughput_drop", "drop_threshold", "noise")


@dataclass
class BenchmarkReview:
    """A benchmark, the regressions found against the champion's summaries, and the comparison's notes per sweep."""

    benchmark: Benchmark
    cfg: ScalabilityConfig  # the sweep as run (the quick one for quick runs)
    quick: bool
    champion_id: str | None
    regressions: list[Regression]
    notes: dict[str, dict]

    def params(self) -> dict[str, Any]:
        """The target, the sweep's settings and the run compared with."""
        b, c = self.benchmark, self.cfg
        return {
            "target": b.target,
            "device": b.device,
            "quick": self.quick,
            "slo_p95_ms": c.slo_p95_ms,
            "reference_batch": c.reference_batch,
            "batch_sizes": c.batch_sizes,
            "lengths": c.lengths,
            "concurrency": c.concurrency,
            "warmup": c.warmup,
            "min_repetitions": c.min_repetitions,
            "max_repetitions": c.max_repetitions,
            "compared_with": self.champion_id or "none",
        }

    def metrics(self) -> dict[str, float]:
        """Each sweep's summary (what the next run compares with), its fits' R², the drop against the champion."""
        b = self.benchmark
        out = flatten(b.analysis) | {
            "points_failed_total": float(len(b.result.errors)),
            "sweep_seconds": b.result.seconds,
        }
        for sweep, a in b.analysis.items():
            out |= {f"{sweep}.r2.{m}": f["r2"] for m, f in a.get("fits", {}).items() if f.get("r2") is not None}
            out |= {
                f"{sweep}.{k}": v
                for k, v in self.notes.get(sweep, {}).items()
                if isinstance(v, float) and k in NOTE_METRICS
            }
        return out

    def curve(self) -> Iterator[tuple[int, dict[str, float]]]:
        """(x, p95 latency, throughput and peak memory) along each sweep's reference curve: a chart per metric."""
        ok = self.benchmark.result.ok()
        for sweep, a in self.benchmark.analysis.items():
            ref = a.get("reference_series")
            pts = ok[(ok["sweep"] == sweep) & ((ok["series"] == ref) if ref is not None else True)]
            for r in pts.itertuples():
                yield (
                    int(r.x),
                    {
                        f"{sweep}.curve.latency_ms_p95": r.latency_ms_p95,
                        f"{sweep}.curve.throughput": r.throughput,
                        f"{sweep}.curve.rss_peak_mb": r.rss_peak_mb,
                    },
                )

    def points_table(self) -> pd.DataFrame | None:
        """Every measured point, one cell per value (the repetitions' throughputs as text); None without points."""
        points = self.benchmark.result.points
        if not len(points):
            return None
        table = points.copy()
        if "rep_throughput" in table:
            table["rep_throughput"] = table["rep_throughput"].map(
                lambda v: ",".join(map(str, v)) if isinstance(v, list) else ""
            )
        return table

    def record(self) -> dict[str, Any]:
        """The benchmark's JSON form (to_json) with the comparison's notes."""
        return {**to_json(self.benchmark, self.quick), "comparison": self.notes}

    def plots(self, folder: str | Path) -> list[Path]:
        """One PNG per sweep in `folder`: points, fits, the SLO line, the SLO-safe batch and the knee."""
        return sweep_plots(self.benchmark.result.points, self.benchmark.analysis, folder, self.cfg.slo_p95_ms)

    def findings(
        self, source: str, dagster_run_id: str | None = None, mlflow_run_url: str | None = None
    ) -> list[Finding]:
        """One Finding per regression, about `<target>/<sweep>`."""
        b = self.benchmark
        return [
            Finding(
                source=source,
                rule=r.rule,
                entity=f"{b.target}/{r.sweep}",
                severity=r.severity,
                title=r.title,
                value=r.value,
                threshold=r.threshold,
                expected=r.expected,
                detail=r.detail,
                dagster_run_id=dagster_run_id,
                mlflow_run_url=mlflow_run_url,
            )
            for r in self.regressions
        ]

    def headline(self) -> dict[str, Any]:
        """The serving sweep's SLO-safe batch, knee and reference throughput."""
        summary = to_json(self.benchmark, self.quick)
        return {k: summary[k] for k in ("slo_safe_batch", "knee", "throughput_ref")}

    def markdown(self) -> str:
        """One line per sweep: reference point and throughput, SLO-safe batch, knee, the fits' R²."""
        summary = to_json(self.benchmark, self.quick)["summary"]
        return markdown_table(
            ["sweep", "reference", "throughput/s", "SLO-safe", "knee", "R² p95", "R² throughput"],
            [
                [
                    sweep,
                    f"{a.get('axis')}={a.get('reference_x')}",
                    f"{a.get('throughput_ref') or 0:.4g}",
                    a.get("slo_safe"),
                    a.get("knee"),
                    a["r2"].get("latency_ms_p95"),
                    a["r2"].get("throughput"),
                ]
                for sweep, a in summary.items()
            ],
        )


def review_benchmark(
    b: Benchmark,
    cfg: ScalabilityConfig,
    quick: bool,
    champion: dict[str, dict] | None,
    history: dict[str, list[float]],
    champion_id: str | None = None,
) -> BenchmarkReview:
    """Compare `b` with the champion's per-sweep summaries and the recent runs' reference throughputs (see compare)."""
    regressions, notes = compare(b.analysis, champion, history, cfg, b.result.errors)
    return BenchmarkReview(b, cfg, quick, champion_id, regressions, notes)
