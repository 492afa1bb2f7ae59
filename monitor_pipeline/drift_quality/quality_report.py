"""A partition's quality report: the samples read, the metrics against their floors, the output tests and online.log
accuracy, in the forms the asset logs (MLflow params, metrics, tables, Dagster markdown). `assess_quality` is the entry
point; the measurements are quality.py's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from monitor_pipeline.drift_quality.quality import (
    ChiSquare,
    NoLabels,
    QualityResult,
    QualitySettings,
    measure_quality,
    online_accuracy,
    output_tests,
)
from monitor_pipeline.drift_quality.reference import ReferenceWindow
from monitor_pipeline.escape import markdown_table, mlflow_name, mlflow_name_tags

if TYPE_CHECKING:
    from monitor_pipeline.settings.drift_quality import QualityConfig


@dataclass
class QualitySamples:
    """What quality reads of a partition and its reference window: seeded samples of the labeled requests and of every
    request (for outputs that unlabeled requests carry too), and the partition's online.log samples."""

    current: pd.DataFrame
    reference: pd.DataFrame
    current_all: pd.DataFrame
    reference_all: pd.DataFrame
    online_log: pd.DataFrame


@dataclass
class QualityReport:
    """A partition's model quality: metrics (or why there are none), output-distribution tests, online.log accuracy."""

    window: ReferenceWindow
    cfg: QualityConfig
    sampled: dict[str, int]  # rows of each sample
    tests: list[ChiSquare]
    online: dict  # online_accuracy's samples, windows and below_floor
    result: QualityResult | None = None
    skipped: str | None = None  # why there are no metrics

    @property
    def summary(self) -> dict[str, Any]:
        """The partition, its reference days and the rows sampled on each side."""
        return {**self.window.describe(), **self.sampled}

    @property
    def rejected(self) -> list[str]:
        """The outputs whose distribution moved (chi-square rejected with a large enough effect)."""
        return [t.column for t in self.tests if t.rejected]

    @property
    def outputs_skipped(self) -> str:
        """Why no output was tested."""
        return "no reference window to test against" if self.sampled["current_rows_sampled"] else "no requests"

    def below_floor(self) -> list[dict]:
        """Every (model, metric) under its floor (QualityResult.below_floor); none without metrics."""
        return self.result.below_floor({k: v for k, v in self.cfg.floors.items()}) if self.result else []

    def params(self) -> dict[str, Any]:
        """What the run compared and its thresholds, as tracking params."""
        q = self.cfg
        return {
            **self.summary,
            "alpha": q.alpha,
            "min_cramers_v": q.min_cramers_v,
            **{f"floor.{k}": v for k, v in q.floors.items()},
        }

    def metrics(self) -> dict[str, float]:
        """Test p-values and effect sizes, the day's and each model's metrics, the lowest hourly online accuracy."""
        out: dict[str, float] = {f"chi2_p.{t.column}": t.p_value for t in self.tests}
        out |= {f"cramers_v.{t.column}": t.cramers_v for t in self.tests}
        if self.result:
            out |= dict(self.result.overall)
            # Model names are data: each becomes an MLflow-safe name, its original kept in a `name.<safe>` tag (tags()).
            out |= {f"{mlflow_name(m)}.{k}": v for m, vals in self.result.by_model.items() for k, v in vals.items()}
        if len(self.online["windows"]):
            out["online_accuracy_min_hourly"] = float(self.online["windows"]["accuracy_mean"].min())
        return out

    def tags(self) -> dict[str, str]:
        """`name.<safe>` = model name, for every model whose metric names had to be made safe."""
        return mlflow_name_tags(self.result.by_model) if self.result else {}

    def windows_table(self) -> pd.DataFrame | None:
        """The per-model, per-hour metrics with printable window starts; None without metrics."""
        if not self.result:
            return None
        return self.result.windows.assign(window_start=self.result.windows["window_start"].astype(str))

    def online_table(self) -> pd.DataFrame | None:
        """The hourly online.log accuracy with printable window starts; None without samples."""
        w = self.online["windows"]
        return w.assign(window_start=w["window_start"].astype(str)) if len(w) else None

    def tests_markdown(self) -> str:
        """One row per output test."""
        return _markdown(
            [
                {
                    "column": t.column,
                    "chi2": t.chi2,
                    "p_value": t.p_value,
                    "dof": t.dof,
                    "cramers_v": t.cramers_v,
                    "rejected": "yes" if t.rejected else "",
                }
                for t in self.tests
            ]
        )

    def headline(self) -> dict[str, Any]:
        """The day's labeled rows, accuracy, F1 and ROC-AUC (empty without metrics)."""
        if not self.result:
            return {}
        r = self.result
        return {
            "labeled_rows": r.rows,
            "accuracy": r.overall["accuracy"],
            "f1": r.overall["f1"],
            "roc_auc": r.overall["roc_auc"],
            "roc_auc_of": r.roc_auc_kind,
        }

    def by_model_markdown(self) -> str:
        """The day's metrics, then each model's."""
        r = self._result()
        return _markdown(
            [
                {"model": m, **{k: v for k, v in vals.items() if k != "rows"}, "rows": int(vals["rows"])}
                for m, vals in {"(all)": r.overall, **r.by_model}.items()
            ]
        )

    def save_html(self, path: str | Path) -> Path:
        """The Evidently classification report (see QualityResult.save_html)."""
        return self._result().save_html(path)

    def _result(self) -> QualityResult:
        if self.result is None:
            raise ValueError(f"quality metrics were skipped: {self.skipped}")
        return self.result


def _markdown(rows: list[dict]) -> str:
    if not rows:
        return "(none)"
    keys = list(rows[0])
    return markdown_table(keys, [[f"{r[k]:.4g}" if isinstance(r[k], float) else r[k] for k in keys] for r in rows])


def assess_quality(samples: QualitySamples, window: ReferenceWindow, cfg: QualityConfig) -> QualityReport:
    """Metrics of the labeled requests against the floors, output tests against the reference, online.log accuracy.

    Too few labels is a skip with its reason (the output tests then use every request), not an error.
    """
    # The comprehensions make the floors' metric-name keys plain str for QualitySettings and below_floor.
    settings = QualitySettings(
        floors={k: v for k, v in cfg.floors.items()},
        alpha=cfg.alpha,
        min_cramers_v=cfg.min_cramers_v,
        min_rows=cfg.min_rows,
    )
    columns = tuple(cfg.output_columns)
    sampled = {
        "current_rows_sampled": len(samples.current_all),
        "reference_rows_sampled": len(samples.reference_all),
        "current_labeled_sampled": len(samples.current),
        "reference_labeled_sampled": len(samples.reference),
    }
    report = QualityReport(window, cfg, sampled, [], online_accuracy(samples.online_log, cfg.online_accuracy_floor))
    try:
        report.result = measure_quality(
            samples.reference, samples.current, settings, columns, samples.reference_all, samples.current_all
        )
        report.tests = report.result.tests
    except NoLabels as exc:
        report.skipped = f"no labels: {exc}"
        report.tests = output_tests(samples.reference_all, samples.current_all, columns, settings)
    return report
