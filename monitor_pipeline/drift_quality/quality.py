"""Model quality from labeled request logs: classification metrics per model and window, output-distribution tests.

Evidently's classification preset gives the report (HTML) and the partition-wide figures; the per-model and
per-hour figures are the same definitions computed with scikit-learn (Evidently has no segment split), and the
output-distribution test is scipy's chi-square on a reference-vs-current contingency table with Cramér's V.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from monitor_pipeline.drift_quality.report_html import save_report_html

if TYPE_CHECKING:
    pass

METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")


class NoLabels(ValueError):
    """The partition has no (or too few) rows with both a label and a prediction."""


@dataclass(frozen=True)
class QualitySettings:
    """Floors for the classification metrics and the gate of the output-distribution test."""

    floors: dict[str, float] = field(default_factory=lambda: {"accuracy": 0.8, "f1": 0.75})
    alpha: float = 0.01  # chi-square rejects below this p-value
    # With a million rows any difference is "significant"; a test fails only when the effect is also this large.
    min_cramers_v: float = 0.05
    min_rows: int = 50  # fewer labeled rows than this: metrics are skipped with a reason
    window: str = "1 hour"


@dataclass
class ChiSquare:
    """A reference-vs-current test of one categorical output's distribution."""

    column: str
    chi2: float
    p_value: float
    dof: int
    cramers_v: float
    rejected: bool
    reference: dict[str, int]
    current: dict[str, int]


@dataclass
class QualityResult:
    """Partition-wide and per-model metrics, the per-window series, the distribution tests and the report."""

    rows: int
    overall: dict[str, float]
    by_model: dict[str, dict[str, float]]
    windows: pd.DataFrame
    tests: list[ChiSquare]
    snapshot: object | None = None
    roc_auc_kind: str = ""

    def below_floor(self, floors: dict[str, float]) -> list[dict]:
        """Every (model, metric) whose value is under its floor; model `*` is the whole partition."""
        out = []
        for model, values in {"*": self.overall, **self.by_model}.items():
            for metric, floor in floors.items():
                v = values.get(metric)
                if v is not None and not math.isnan(v) and v < floor:
                    out.append({"model": model, "metric": metric, "value": round(v, 4), "floor": floor})
        return out

    def save_html(self, path: str | Path) -> Path:
        """The self-contained Evidently classification report, its embedded data unable to act as markup or script."""
        return save_report_html(self.snapshot, path)


def labeled(df: pd.DataFrame) -> pd.DataFrame:
    """Rows that carry both a label and a prediction, as strings."""
    if "label" not in df or "prediction" not in df:
        return df.iloc[0:0]
    out = df[df["label"].notna() & df["prediction"].notna()].copy()
    out["label"] = out["label"].astype(str)
    out["prediction"] = out["prediction"].astype(str)
    return out


def _roc_auc(df: pd.DataFrame) -> tuple[float, str]:
    """ROC-AUC of the score: P(positive) on a binary task, else how well confidence separates right from wrong."""
    if "score" not in df or df["score"].notna().sum() == 0:
        return float("nan"), ""
    d = df[df["score"].notna()]
    classes = sorted(set(d["label"]) | set(d["prediction"]))
    if len(classes) == 2:
        # A binary task's score is the probability of the positive (second in sort order) class.
        truth, kind = d["label"] == classes[1], f"binary, positive class {classes[1]!r}"
    else:
        truth, kind = d["label"] == d["prediction"], "confidence vs correct prediction"
    if truth.nunique() < 2:
        return float("nan"), kind
    from sklearn.metrics import roc_auc_score  # imported where used: see probes/stats.py

    return float(roc_auc_score(truth, d["score"])), kind


def metrics(df: pd.DataFrame) -> dict[str, float]:
    """Accuracy, macro precision/recall/F1 and ROC-AUC of labeled rows."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # classes absent from a window make sklearn warn about zero division
        from sklearn.metrics import accuracy_score, precision_recall_fscore_support

        p, r, f, _ = precision_recall_fscore_support(df["label"], df["prediction"], average="macro", zero_division=0)
    return {
        "accuracy": float(accuracy_score(df["label"], df["prediction"])),
        "precision": float(p),
        "recall": float(r),
        "f1": float(f),
        "roc_auc": _roc_auc(df)[0],
        "rows": float(len(df)),
    }


def window_series(df: pd.DataFrame, window: str = "1 hour") -> pd.DataFrame:
    """Metrics per model and time window: the quality series the checks and plots read."""
    rows = []
    if df.empty:
        return pd.DataFrame(columns=["window_start", "model", "rows", *METRICS])
    start = pd.to_datetime(df["timestamp"], utc=True).dt.floor(pd.Timedelta(window))
    for (w, model), g in df.groupby([start, df["model"].fillna("(none)")], sort=True):
        rows.append({"window_start": w, "model": model, **metrics(g)})
    out = pd.DataFrame(rows)
    out["rows"] = out["rows"].astype(int)
    return out


def chi_square(reference: pd.Series, current: pd.Series, column: str, alpha: float, min_v: float) -> ChiSquare | None:
    """Chi-square test of homogeneity of one categorical column; None when a side is empty."""
    ref = reference.fillna("(none)").astype(str).value_counts()
    cur = current.fillna("(none)").astype(str).value_counts()
    if ref.sum() == 0 or cur.sum() == 0:
        return None
    cats = sorted(set(ref.index) | set(cur.index))
    table = np.array([[ref.get(c, 0) for c in cats], [cur.get(c, 0) for c in cats]], dtype=float)
    if len(cats) < 2:
        return ChiSquare(column, 0.0, 1.0, 0, 0.0, False, ref.to_dict(), cur.to_dict())
    from scipy.stats import chi2_contingency

    chi2, p, dof, _ = chi2_contingency(table, correction=False)
    v = math.sqrt(chi2 / (table.sum() * (min(table.shape) - 1)))
    return ChiSquare(
        column,
        float(chi2),
        float(p),
        int(dof),
        float(v),
        bool(p < alpha and v >= min_v),
        {k: int(x) for k, x in ref.items()},
        {k: int(x) for k, x in cur.items()},
    )


def output_tests(
    reference: pd.DataFrame, current: pd.DataFrame, columns: tuple[str, ...], settings: QualitySettings
) -> list[ChiSquare]:
    """Chi-square tests of categorical outputs; a model's prediction counts only where one was made."""
    tests = []
    for c in columns:
        if c not in current or c not in reference:
            continue
        ref, cur = reference[c], current[c]
        if c in ("prediction", "label"):
            ref, cur = ref.dropna(), cur.dropna()  # null = not a classify request; for error_type null = no error
        t = chi_square(ref, cur, c, settings.alpha, settings.min_cramers_v)
        if t:
            tests.append(t)
    return tests


def measure_quality(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    settings: QualitySettings = QualitySettings(),
    output_columns: tuple[str, ...] = ("prediction", "error_type"),
    reference_all: pd.DataFrame | None = None,
    current_all: pd.DataFrame | None = None,
) -> QualityResult:
    """Classification metrics of `current` (against `reference` in the report) and output-distribution tests.

    `reference`/`current` need the labeled rows; `*_all`, when given, are samples of every request for the
    output columns that unlabeled requests carry too (error type).
    """
    cur, ref = labeled(current), labeled(reference)
    ref_all = reference if reference_all is None else reference_all
    cur_all = current if current_all is None else current_all
    tests = output_tests(ref, cur, tuple(c for c in output_columns if c in ("prediction", "label")), settings)
    tests += output_tests(
        ref_all, cur_all, tuple(c for c in output_columns if c not in ("prediction", "label")), settings
    )
    tests.sort(key=lambda t: output_columns.index(t.column))
    if len(cur) < settings.min_rows:
        raise NoLabels(
            f"{len(cur)} of {len(cur_all)} rows carry both `label` and `prediction`; "
            f"quality metrics need at least {settings.min_rows}"
        )
    overall = metrics(cur)
    _, kind = _roc_auc(cur)
    by_model = {m: metrics(g) for m, g in cur.groupby(cur["model"].fillna("(none)"))} if "model" in cur else {}
    result = QualityResult(
        rows=len(cur),
        overall=overall,
        by_model=by_model,
        windows=window_series(cur, settings.window),
        tests=tests,
        roc_auc_kind=kind,
    )
    result.snapshot = _report(ref if len(ref) >= settings.min_rows else None, cur)
    return result


def _report(reference: pd.DataFrame | None, current: pd.DataFrame):
    warnings.filterwarnings("ignore", module="evidently")
    from evidently import DataDefinition, Dataset, MulticlassClassification, Report
    from evidently.presets import ClassificationPreset

    definition = DataDefinition(
        categorical_columns=["label", "prediction"],
        classification=[MulticlassClassification(target="label", prediction_labels="prediction")],
    )

    def ds(df: pd.DataFrame):
        return Dataset.from_pandas(df[["label", "prediction"]].reset_index(drop=True), data_definition=definition)

    return Report([ClassificationPreset()]).run(ds(current), ds(reference) if reference is not None else None)


def online_accuracy(df: pd.DataFrame, floor: float, window: str = "1 hour") -> dict:
    """The seed's online.log accuracy as a series: mean and minimum per window, and windows whose mean is under floor."""
    if df.empty:
        return {
            "samples": 0,
            "windows": pd.DataFrame(columns=["window_start", "requests", "accuracy_mean", "accuracy_min"]),
            "below_floor": [],
        }
    w = pd.to_datetime(df["timestamp"], utc=True).dt.floor(pd.Timedelta(window))
    # Each line aggregates `request_num` requests; weight the mean by them so quiet minutes count less.
    weights = df["request_num"].clip(lower=0).astype(float)
    g = pd.DataFrame({"w": w, "acc": df["accuracy"], "wacc": df["accuracy"] * weights, "n": weights}).groupby("w")
    out = pd.DataFrame(
        {"requests": g["n"].sum(), "accuracy_min": g["acc"].min(), "wacc": g["wacc"].sum(), "plain": g["acc"].mean()}
    )
    out["accuracy_mean"] = np.where(
        out["requests"] > 0, out["wacc"] / out["requests"].where(out["requests"] > 0, 1), out["plain"]
    )
    out = out.drop(columns=["wacc", "plain"]).reset_index(names="window_start")
    below = out[out["accuracy_mean"] < floor]
    return {
        "samples": len(df),
        "windows": out,
        "below_floor": [
            {"window_start": str(r.window_start), "accuracy_mean": round(float(r.accuracy_mean), 4)}
            for r in below.itertuples()
        ],
    }
