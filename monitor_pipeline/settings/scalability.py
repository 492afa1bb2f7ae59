"""Scalability sweeps, their fits and regression alerts."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from monitor_pipeline.settings.base import Strict


class ScalabilityConfig(Strict):
    """Scalability sweeps (batch size, input length, concurrency, training scale), their fits and regression alerts."""

    target: Literal["local", "lstm", "openai"] = Field(
        "local",
        description="local: the embedded MiniLM encoder; lstm: the "
        "forecaster's LSTM (inference and training); openai: base_url",
    )
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: CUDA when torch sees a GPU, else CPU")
    threads: int | None = Field(
        None,
        ge=1,
        description="torch CPU threads during the sweep (default torch's; 1 is steadier on a shared machine)",
    )
    batch_sizes: list[int] = Field(
        default_factory=lambda: [1, 2, 4, 8, 16, 32, 64, 128, 256], description="local targets"
    )
    lengths: list[int] = Field(
        default_factory=lambda: [16, 64, 128], description="input tokens (MiniLM) or steps (LSTM)"
    )
    reference_length: int | None = Field(
        None, description="length of the batch-size fits and alerts; default the middle one"
    )
    reference_batch: int = Field(
        32, ge=1, description="batch (or concurrency) whose throughput is compared across runs"
    )
    concurrency: list[int] = Field(
        default_factory=lambda: [1, 2, 4, 8, 16], description="openai target: requests in flight"
    )
    base_url: str | None = Field(None, description="openai target, e.g. http://127.0.0.1:8000/v1")
    model: str = Field("default", description="model name sent to the endpoint")
    api_key_env: str = Field("OPENAI_API_KEY", description="env var holding the endpoint's API key (never logged)")
    timeout_s: float = Field(30.0, gt=0, description="per request")
    requests_per_repetition: int = Field(16, ge=1, description="requests sent per repetition at each concurrency level")
    max_requests_per_level: int = Field(160, ge=1, description="bound on requests per level, warm-up included")
    max_tokens: int = Field(32, ge=1, description="completion tokens asked per request")
    lstm_hidden: int = Field(32, ge=1, description="hidden size of the LSTM inference target")
    lstm_horizon: int = Field(12, ge=1, description="forecast steps of the LSTM targets")
    train_samples: list[int] = Field(
        default_factory=lambda: [512, 1024, 2048, 4096],
        description="lstm: training windows per fit ([] skips the training sweep)",
    )
    hidden_sizes: list[int] = Field(default_factory=lambda: [16, 32, 64], description="lstm training: hidden sizes")
    train_epochs: int = Field(2, ge=1, description="epochs per training repetition (no early stopping)")
    warmup: int = Field(2, ge=0, description="untimed repetitions before each point")
    min_repetitions: int = Field(10, ge=3, description="timed repetitions at least (local targets' p95 is over these)")
    max_repetitions: int = Field(30, ge=3, description="...and at most, until the median is stable")
    stable_tolerance: float = Field(
        0.02, gt=0, description="stop when one more repetition moves the median less than this"
    )
    max_seconds_per_point: float = Field(20.0, gt=0, description="time budget of a point's repetitions")
    max_consecutive_failures: int = Field(
        2, ge=1, description="a target failing this many points in a row ends its sweep"
    )
    slo_p95_ms: float = Field(500.0, gt=0, description="latency SLO: the SLO-safe batch keeps p95 under it")
    max_degree: int = Field(3, ge=1, le=5, description="highest polynomial degree tried by cross-validation")
    knee_elasticity: float = Field(
        0.1,
        gt=0,
        lt=1,
        description="the knee: where d ln(throughput)/d ln(batch) stays below this (doubling adds < 7%)",
    )
    noise_z: float = Field(3.0, gt=0, description="a throughput drop alerts beyond this many noise standard errors")
    min_drop: float = Field(0.05, ge=0, lt=1, description="...and beyond this relative drop")
    history_runs: int = Field(5, ge=2, description="successful runs whose spread estimates run-to-run noise")
    slo_shrink_tolerance: float = Field(
        0.1, ge=0, lt=1, description="the SLO-safe batch alerts when it shrinks beyond this"
    )

    @field_validator("batch_sizes", "lengths", "concurrency", "train_samples", "hidden_sizes")
    @classmethod
    def _positive_sorted(cls, v: list[int]) -> list[int]:
        if any(x < 1 for x in v):
            raise ValueError(f"values must be positive integers, got {v}")
        return sorted(set(v))
