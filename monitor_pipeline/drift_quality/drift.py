"""Drift of request features and offline prompt descriptors between a reference and a current window (Evidently 0.7)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from monitor_pipeline.drift_quality.reference import ReferenceWindow
from monitor_pipeline.drift_quality.report_html import save_report_html
from monitor_pipeline.escape import markdown_table

if TYPE_CHECKING:
    from monitor_pipeline.settings.drift_quality import DriftConfig

NUMERIC = ["input_tokens", "output_tokens", "latency_ms", "ttft_ms", "hour_of_day"]
CATEGORICAL = ["status", "model", "operation"]
# Descriptors that work offline (no nltk downloads, no hub models): name -> what it measures.
DESCRIPTORS = {
    "prompt_length": "characters",
    "prompt_words": "words",
    "prompt_non_letter_pct": "share of non-letter characters",
    "prompt_is_json": "the prompt is valid JSON",
    "prompt_has_link": "the prompt contains a link",
    "prompt_injection_phrase": "matches an injection phrase",
}
INJECTION = r"(?i)(ignore (all |the )?(previous|prior|above) instructions|you are now|system prompt)"


@dataclass(frozen=True)
class DriftSettings:
    """What to compare and when to call it drift."""

    drift_share: float = 0.25  # the check warns when more than this share of columns drifted
    min_rows: int = 200  # fewer rows on either side: the report is skipped with a reason
    include_prompts: bool = True
    embedding_rows: int = 0  # >0: also test drift of MiniLM prompt embeddings on this many rows a side


@dataclass
class DriftResult:
    """Per-column drift scores with the test Evidently chose, and the share of drifted columns."""

    reference_rows: int
    current_rows: int
    columns: dict[str, dict] = field(default_factory=dict)
    drifted_count: int = 0
    share: float = 0.0
    snapshot: object | None = None
    embedding: dict | None = None  # prompt-embedding drift: score, method, threshold, drifted (or skipped)
    skipped_columns: list[str] = field(default_factory=list)  # empty on one side: nothing to compare

    @property
    def drifted(self) -> list[str]:
        """Names of the drifted columns."""
        return [c for c, v in self.columns.items() if v["drifted"]]

    def save_html(self, path: str | Path) -> Path:
        """The self-contained Evidently HTML report, its embedded data unable to act as markup or script."""
        return save_report_html(self.snapshot, path)


class NotEnoughData(ValueError):
    """One side of the comparison is empty or too small to test."""


def _frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    if "hour_of_day" not in out and "timestamp" in out:
        out["hour_of_day"] = pd.to_datetime(out["timestamp"], utc=True).dt.hour
    for c in CATEGORICAL:
        out[c] = out[c].astype("string").fillna("(none)")
    if "prompt" in out:
        out["prompt"] = out["prompt"].astype("string").fillna("")
    return out


def compare(reference: pd.DataFrame, current: pd.DataFrame, settings: DriftSettings = DriftSettings()) -> DriftResult:
    """Run Evidently's data drift preset over request features and prompt descriptors."""
    if len(reference) < settings.min_rows or len(current) < settings.min_rows:
        raise NotEnoughData(
            f"reference has {len(reference)} rows and current {len(current)}; "
            f"drift needs at least {settings.min_rows} on each side"
        )
    warnings.filterwarnings("ignore", module="evidently")
    from evidently import DataDefinition, Dataset, Report
    from evidently.descriptors import (
        ContainsLink,
        IsValidJSON,
        NonLetterCharacterPercentage,
        RegExp,
        TextLength,
        WordCount,
    )
    from evidently.presets import DataDriftPreset

    prompts = settings.include_prompts and "prompt" in current and current["prompt"].notna().any()
    # A column empty on either side (a gateway that logs no TTFT) has no distribution to compare: Evidently raises on
    # it, so it is left out and reported as skipped instead of failing the whole report.
    rf, cf = _frame(reference), _frame(current)
    empty = [c for c in NUMERIC if c not in rf or c not in cf or rf[c].isna().all() or cf[c].isna().all()]
    numeric, categorical = [c for c in NUMERIC if c not in empty], CATEGORICAL
    definition = DataDefinition(
        numerical_columns=numeric, categorical_columns=categorical, text_columns=["prompt"] if prompts else []
    )
    descriptors = (
        [
            TextLength("prompt", alias="prompt_length"),
            WordCount("prompt", alias="prompt_words"),
            NonLetterCharacterPercentage("prompt", alias="prompt_non_letter_pct"),
            IsValidJSON("prompt", alias="prompt_is_json"),
            ContainsLink("prompt", alias="prompt_has_link"),
            RegExp("prompt", reg_exp=INJECTION, alias="prompt_injection_phrase"),
        ]
        if prompts
        else []
    )
    cols = numeric + categorical + (list(DESCRIPTORS) if prompts else [])
    keep = numeric + categorical + (["prompt"] if prompts else [])
    if not cols:
        raise NotEnoughData("every compared column is empty on one side: nothing to measure drift on")
    ref = Dataset.from_pandas(rf[keep], data_definition=definition, descriptors=descriptors)
    cur = Dataset.from_pandas(cf[keep], data_definition=definition, descriptors=descriptors)
    snapshot = Report([DataDriftPreset(columns=cols, drift_share=settings.drift_share)]).run(cur, ref)
    result = DriftResult(
        reference_rows=len(reference), current_rows=len(current), snapshot=snapshot, skipped_columns=empty
    )
    _read_drift(snapshot, result)
    if settings.embedding_rows > 0 and prompts:
        result.embedding = embedding_drift(reference["prompt"], current["prompt"], settings.embedding_rows)
    return result


def _read_drift(snapshot: Any, result: DriftResult) -> None:
    """The preset's results through Evidently's typed API: each metric's calculation (its class and the parameters
    Evidently resolved, e.g. the stat test it chose) and its typed result (CountValue, SingleValue)."""
    from evidently.core.metric_types import CountValue, SingleValue
    from evidently.metrics import DriftedColumnsCount, ValueDrift

    for metric_id, value in snapshot.metric_results.items():
        calculation = snapshot.context.get_metric(metric_id)
        metric = calculation.metric
        if isinstance(metric, DriftedColumnsCount) and isinstance(value, CountValue):
            result.drifted_count, result.share = int(value.count.value), float(value.share.value)
        elif isinstance(metric, ValueDrift) and isinstance(value, SingleValue):
            params = calculation.to_metric_config().params  # the method and threshold Evidently resolved
            score, threshold, method = float(value.value), float(params["threshold"]), str(params["method"])
            # Evidently's p-value tests drift when the score is below the threshold, distances when above.
            pvalue = "p_value" in method.lower() or "test" in method.lower()
            result.columns[metric.column] = {
                "score": score,
                "method": method,
                "threshold": threshold,
                "drifted": score < threshold if pvalue else score >= threshold,
            }


def embedding_drift(reference: pd.Series, current: pd.Series, rows: int, seed: int = 5) -> dict:
    """Drift of prompt embeddings (all-MiniLM-L6-v2): Evidently's model-based test, a classifier's ROC-AUC."""
    from monitor_pipeline.drift_quality.embeddings import EncoderUnavailable, encode

    ref = reference.dropna().astype(str)
    cur = current.dropna().astype(str)
    ref, cur = ref.sample(min(rows, len(ref)), random_state=seed), cur.sample(min(rows, len(cur)), random_state=seed)
    try:
        e_ref, e_cur = encode(ref.tolist()), encode(cur.tolist())
    except EncoderUnavailable as exc:
        return {"skipped": str(exc)}
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import EmbeddingsDrift

    cols = [f"prompt_emb_{i}" for i in range(e_ref.shape[1])]
    definition = DataDefinition(numerical_columns=cols, embeddings={"prompt_embedding": cols})
    snap = Report([EmbeddingsDrift(embeddings_name="prompt_embedding")]).run(
        Dataset.from_pandas(pd.DataFrame(e_cur, columns=cols), data_definition=definition),
        Dataset.from_pandas(pd.DataFrame(e_ref, columns=cols), data_definition=definition),
    )
    from evidently.core.metric_types import SingleValue

    (value,) = snap.metric_results.values()  # the one metric of the report, typed
    if not isinstance(value, SingleValue):
        raise TypeError(f"EmbeddingsDrift gave {type(value).__name__}, not a SingleValue")
    score = float(value.value)
    # Evidently's default for embeddings: a classifier tells the two sides apart; ROC-AUC above 0.55 is drift.
    return {
        "score": score,
        "method": "model-based (classifier ROC-AUC)",
        "threshold": 0.55,
        "drifted": score > 0.55,
        "rows": [len(ref), len(cur)],
    }


@dataclass
class DriftReport:
    """A partition's drift against its reference window: the Evidently result, or why there is none."""

    window: ReferenceWindow
    reference_rows: int
    current_rows: int
    threshold: float  # the share of drifted columns the check allows
    result: DriftResult | None = None
    skipped: str | None = None

    @property
    def summary(self) -> dict[str, Any]:
        """The partition, its reference days, the rows on each side and the threshold."""
        return {
            **self.window.describe(),
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "threshold": self.threshold,
        }

    @property
    def passed(self) -> bool:
        """The share of drifted columns stays at or below the threshold (a skipped report passes)."""
        return self.result is None or self.result.share <= self.threshold

    def params(self) -> dict[str, Any]:
        """What the run compared, as tracking params."""
        return {k: v for k, v in self.summary.items() if k != "threshold"} | {"drift_share_threshold": self.threshold}

    def metrics(self) -> dict[str, float]:
        """The share and count of drifted columns and each column's score (`drift.<column>`)."""
        r = self._result()
        return {
            "drift_share": r.share,
            "drifted_columns": r.drifted_count,
            **{f"drift.{c}": v["score"] for c, v in r.columns.items()},
        }

    def embedding_metrics(self) -> dict[str, float]:
        """The prompt-embedding drift score, when it was measured."""
        e = self._result().embedding
        return {"drift.prompt_embedding": e["score"]} if e and "score" in e else {}

    def markdown(self) -> str:
        """Per column: the test, its score and threshold, and whether it drifted."""
        return markdown_table(
            ["column", "test", "score", "threshold", "drifted"],
            [
                [c, v["method"], f"{v['score']:.4g}", f"{v['threshold']:g}", "yes" if v["drifted"] else ""]
                for c, v in self._result().columns.items()
            ],
        )

    def save_html(self, path: str | Path) -> Path:
        """The Evidently HTML report (see DriftResult.save_html)."""
        return self._result().save_html(path)

    def _result(self) -> DriftResult:
        if self.result is None:
            raise ValueError(f"drift was skipped: {self.skipped}")
        return self.result


def assess_drift(
    reference: pd.DataFrame, current: pd.DataFrame, window: ReferenceWindow, cfg: DriftConfig
) -> DriftReport:
    """Drift of the partition's requests (`current`) against its reference window's; too few rows is a skip, not an error."""
    report = DriftReport(window, len(reference), len(current), cfg.drift_share)
    settings = DriftSettings(
        drift_share=cfg.drift_share, min_rows=cfg.min_rows, embedding_rows=cfg.prompt_embedding_rows
    )
    try:
        report.result = compare(reference, current, settings)
    except NotEnoughData as exc:
        report.skipped = str(exc)
    return report
