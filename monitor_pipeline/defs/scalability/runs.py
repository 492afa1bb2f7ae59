"""The MLflow side of scalability sweeps: the champion (last successful run) of a target, run history, promotion."""

from __future__ import annotations

from mlflow.entities import Run

from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.scalability.compare import SUMMARY_KEYS, unflatten

EXPERIMENT = "scalability"
TARGET, STATUS, CHAMPION = "scalability.target", "scalability.status", "scalability.champion"


def _experiment_id(mlflow: MlflowResource) -> str | None:
    exp = mlflow.client().get_experiment_by_name(f"{mlflow.experiment_prefix}/{EXPERIMENT}")
    return None if exp is None else exp.experiment_id


def _search(mlflow: MlflowResource, where: str, n: int) -> list[Run]:
    exp = _experiment_id(mlflow)
    if exp is None:
        return []
    return mlflow.client().search_runs([exp], where, order_by=["attributes.start_time DESC"], max_results=n)


def champion(mlflow: MlflowResource, target: str) -> Run | None:
    """The run tagged champion for this target (the latest successful sweep), if any."""
    found = _search(mlflow, f"tags.`{TARGET}` = '{target}' and tags.`{CHAMPION}` = 'true'", 1)
    return found[0] if found else None


def history(mlflow: MlflowResource, target: str, n: int) -> dict[str, list[float]]:
    """Reference throughput of each sweep over the last `n` successful runs of the target (newest first)."""
    out: dict[str, list[float]] = {}
    for run in _search(mlflow, f"tags.`{TARGET}` = '{target}' and tags.`{STATUS}` = 'success'", n):
        for sweep, s in unflatten(run.data.metrics).items():
            if "throughput_ref" in s:
                out.setdefault(sweep, []).append(s["throughput_ref"])
    return out


def summaries(run: Run | None) -> dict[str, dict] | None:
    """Per-sweep summaries (SUMMARY_KEYS) logged as metrics by a run."""
    if run is None:
        return None
    return {sweep: {k: v for k, v in s.items() if k in SUMMARY_KEYS} for sweep, s in unflatten(run.data.metrics).items()}


def promote(mlflow: MlflowResource, run_id: str, previous: Run | None) -> None:
    """Make `run_id` the target's champion; the previous champion keeps its data, its tag says it was superseded."""
    client = mlflow.client()
    client.set_tag(run_id, CHAMPION, "true")
    if previous is not None and previous.info.run_id != run_id:
        client.set_tag(previous.info.run_id, CHAMPION, "false")
        client.set_tag(previous.info.run_id, "scalability.superseded_by", run_id)
