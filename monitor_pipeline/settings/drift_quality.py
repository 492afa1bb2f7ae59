"""Drift (Evidently), model quality from labeled requests, and golden-set probes."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from monitor_pipeline.settings.base import Strict

QualityMetric = Literal["accuracy", "precision", "recall", "f1", "roc_auc"]
DEFAULT_FLOORS: dict[QualityMetric, float] = {"accuracy": 0.8, "f1": 0.75}


class DriftConfig(Strict):
    """Reference vs current drift of request features and prompt descriptors (Evidently)."""

    reference_days: int = Field(1, ge=1, description="reference = the N days before the partition")
    reference_partition: dt.date | None = Field(None, description="a pinned reference day instead (YYYY-MM-DD)")
    drift_share: float = Field(0.25, gt=0, le=1, description="the check warns above this share of drifted columns")
    sample_rows: int = Field(50_000, gt=0, description="rows sampled (seeded) from each side")
    min_rows: int = Field(200, gt=0, description="fewer rows on a side: the report is skipped with a reason")
    prompt_embedding_rows: int = Field(
        0, ge=0, description="rows a side for MiniLM prompt-embedding drift (0: off; needs the embeddings extra)"
    )


class QualityConfig(Strict):
    """Model quality from labeled requests (Evidently classification preset, scipy chi-square)."""

    floors: dict[QualityMetric, float] = Field(
        default_factory=lambda: dict(DEFAULT_FLOORS),
        description="a check fails when a metric (whole day or one model) falls under its floor",
    )
    alpha: float = Field(0.01, gt=0, lt=1, description="the chi-square test of output distributions rejects below this")
    min_cramers_v: float = Field(
        0.05, ge=0, le=1, description="...and only when Cramér's V is at least this (0: the pure test)"
    )
    output_columns: list[str] = Field(
        default_factory=lambda: ["prediction", "error_type"],
        description="categorical outputs tested against the reference window",
    )
    online_accuracy_floor: float = Field(0.8, ge=0, le=1, description="the seed's online.log hourly accuracy floor")
    min_rows: int = Field(50, gt=0, description="fewer labeled rows: the metrics are skipped as `no labels`")
    sample_rows: int = Field(200_000, gt=0, description="labeled rows sampled (seeded) from each side")


class ProbeTargetConfig(Strict):
    """Where golden-set probes are sent."""

    kind: Literal["local", "openai"] = Field(
        "local", description="local: the embedded MiniLM intent classifier; openai: any OpenAI-compatible endpoint"
    )
    base_url: str | None = Field(None, description="e.g. http://127.0.0.1:8000/v1 (openai kind)")
    model: str | None = Field(None, description="model name sent to the endpoint")
    api_key_env: str = Field("OPENAI_API_KEY", description="env var holding the API key (never logged)")
    timeout_s: float = Field(30.0, gt=0)
    retries: int = Field(2, ge=0, description="retries on timeouts, connection errors, 429 and 5xx")
    concurrency: int = Field(4, ge=1, description="requests in flight at once")


class ProbesConfig(Strict):
    """Golden-set probes (assets/golden/<set>/<version>.jsonl)."""

    golden_dir: str | None = Field(None, description="default: the project's assets/golden/")
    sets: list[str] = Field(
        default_factory=lambda: ["support_intents"], description="probe sets to run (latest version)"
    )
    target: ProbeTargetConfig = ProbeTargetConfig()
    alpha: float = Field(
        0.05, gt=0, lt=1, description="the check fails when the pass rate drops significantly at this level"
    )
    min_similarity: float = Field(0.8, gt=0, le=1, description="default threshold of the embedding-similarity scorer")
