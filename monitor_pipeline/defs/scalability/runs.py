"""Earlier scalability sweeps for the asset: the target's champion run, its history, promotion (the MLflow calls are
`tracking.history`'s); the per-sweep summaries a run logged as metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.scalability.compare import SUMMARY_KEYS, unflatten
from monitor_pipeline.tracking import history as tracked
from monitor_pipeline.tracking.history import CHAMPION, STATUS, TARGET

if TYPE_CHECKING:
    from monitor_pipeline.tracking.history import Run

__all__ = ["CHAMPION", "EXPERIMENT", "STATUS", "TARGET", "champion", "history", "promote", "summaries"]
EXPERIMENT = "scalability"


def champion(mlflow: MlflowResource, target: str) -> Run | None:
    """The run tagged champion for this target (the latest successful sweep), if any."""
    return tracked.scalability_champion(mlflow.store(), EXPERIMENT, target)


def history(mlflow: MlflowResource, target: str, n: int) -> dict[str, list[float]]:
    """Reference throughput of each sweep over the last `n` successful runs of the target (newest first)."""
    out: dict[str, list[float]] = {}
    for run in tracked.scalability_runs(mlflow.store(), EXPERIMENT, target, n):
        for sweep, s in unflatten(run.data.metrics).items():
            if "throughput_ref" in s:
                out.setdefault(sweep, []).append(s["throughput_ref"])
    return out


def summaries(run: Run | None) -> dict[str, dict] | None:
    """Per-sweep summaries (SUMMARY_KEYS) logged as metrics by a run."""
    if run is None:
        return None
    return {
        sweep: {k: v for k, v in s.items() if k in SUMMARY_KEYS} for sweep, s in unflatten(run.data.metrics).items()
    }


def promote(mlflow: MlflowResource, run_id: str, previous: Run | None) -> None:
    """Make `run_id` the target's champion; the previous champion keeps its data, its tag says it was superseded."""
    tracked.promote_scalability_champion(mlflow.store(), run_id, previous)
