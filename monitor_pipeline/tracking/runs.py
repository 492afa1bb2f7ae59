"""One MLflow run: the handle that logs params, metrics, artifacts and tags, and the run opened for a Dagster asset."""

from __future__ import annotations

import json
import math
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from monitor_pipeline.escape import mlflow_name, mlflow_name_tags
from monitor_pipeline.tracking.store import Store, ensure_experiment

if TYPE_CHECKING:  # MLflow is imported when a run logs (1.2 s): every Dagster run process imports this module
    from mlflow.tracking import MlflowClient


def split_metrics(values: dict[str, Any]) -> tuple[dict[str, float], list[str]]:
    """Finite numbers to log, and the names of values that are not (never logged as fake numbers)."""
    good, skipped = {}, []
    for k, v in values.items():
        try:
            f = float(v)
        except (TypeError, ValueError):
            skipped.append(k)
            continue
        if math.isfinite(f):
            good[k] = f
        else:
            skipped.append(k)
    return good, skipped


class RunHandle:
    """A handle on one MLflow run: log params, metrics, artifacts and tags; its ids and UI link."""

    def __init__(self, client: MlflowClient, run_id: str, experiment: str, experiment_id: str, ui_url: str) -> None:
        self.client, self.run_id, self.experiment, self.experiment_id, self.ui_url = (
            client,
            run_id,
            experiment,
            experiment_id,
            ui_url,
        )

    def _keep_names(self, names: Iterable[str]) -> None:
        """Tag `name.<sanitized>` = original for each key that `mlflow_name` changed (models, users, ... in names)."""
        from mlflow.entities import RunTag

        tags = [RunTag(k, v[:5000]) for k, v in mlflow_name_tags(names).items()]
        for i in range(0, len(tags), 100):
            self.client.log_batch(self.run_id, tags=tags[i : i + 100])

    def log_params(self, params: dict[str, Any]) -> None:
        """Log params (stringified, MLflow's 6000-character cap applied; names through `mlflow_name`)."""
        from mlflow.entities import Param

        self._keep_names(params)
        items = [Param(mlflow_name(k), str(v)[:6000]) for k, v in params.items()]
        for i in range(0, len(items), 100):
            self.client.log_batch(self.run_id, params=items[i : i + 100])

    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> list[str]:
        """Log the finite numbers; return (and tag) the names of values that were not numbers."""
        from mlflow.entities import Metric, RunTag

        good, skipped = split_metrics(metrics)
        now = int(time.time() * 1000)
        self._keep_names(good)
        items = [Metric(mlflow_name(k), v, now, step or 0) for k, v in good.items()]
        for i in range(0, len(items), 500):
            self.client.log_batch(self.run_id, metrics=items[i : i + 500])
        if skipped:
            self.client.log_batch(self.run_id, tags=[RunTag("metrics_not_logged", ",".join(sorted(skipped))[:5000])])
        return skipped

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        """Copy a file into the run's artifacts."""
        self.client.log_artifact(self.run_id, str(path), artifact_path)

    def log_dict(self, data: Any, name: str) -> None:
        """Write `data` as a JSON artifact called `name`."""
        with tempfile.TemporaryDirectory() as tmp:
            p = Path(tmp) / name
            p.write_text(json.dumps(data, indent=1, default=str))
            self.client.log_artifact(self.run_id, str(p))

    def set_tags(self, tags: dict[str, Any]) -> None:
        """Tag the run (tags are what later runs search by; names through `mlflow_name`)."""
        from mlflow.entities import RunTag

        self._keep_names(tags)
        items = [RunTag(mlflow_name(k), str(v)[:5000]) for k, v in tags.items()]
        for i in range(0, len(items), 100):
            self.client.log_batch(self.run_id, tags=items[i : i + 100])

    def log_table(self, df: Any, name: str) -> None:
        """A DataFrame as an MLflow table artifact (shown as a table in the MLflow UI)."""
        self.client.log_table(self.run_id, df, name)

    def url(self) -> str:
        """The run's page in the MLflow UI."""
        return f"{self.ui_url.rstrip('/')}/#/experiments/{self.experiment_id}/runs/{self.run_id}"

    def links(self) -> dict[str, str]:
        """Where to find this run: its id, its experiment, its UI page."""
        return {"mlflow_run_id": self.run_id, "mlflow_experiment": self.experiment, "mlflow_run": self.url()}


@dataclass(frozen=True)
class AssetRef:
    """What a run records: an asset (or check) `key` materialized in Dagster run `run_id` of `job`, for `partition`."""

    run_id: str
    job: str
    key: str
    partition: str | None = None


Handle = TypeVar("Handle", bound=RunHandle)


@contextmanager
def asset_run(store: Store, group: str, asset: AssetRef, handle: type[Handle]) -> Iterator[Handle]:
    """One run for `asset` in experiment `<prefix>/<group>`, nested under the run of its Dagster run (made once).

    Tagged `dagster.run_id`, `dagster.job`, `dagster.asset_key`, `dagster.partition`; named `<key>/<partition>/<run id>`;
    FINISHED when the block returns, FAILED (and `dagster.status` says so) when it raises.
    """
    client = store.client()
    exp_name = store.experiment_name(group)
    exp_id = ensure_experiment(client, exp_name, store.artifact_root)
    run_id = asset.run_id
    base = {"dagster.run_id": run_id, "dagster.job": asset.job}
    parents = client.search_runs(
        [exp_id], f"tags.`dagster.run_id` = '{run_id}' and tags.`dagster.parent` = 'true'", max_results=1
    )
    parent = (
        parents[0].info.run_id
        if parents
        else client.create_run(
            exp_id, run_name=f"dagster-{asset.job}-{run_id[:8]}", tags={**base, "dagster.parent": "true"}
        ).info.run_id
    )
    tags = {**base, "dagster.asset_key": asset.key, "mlflow.parentRunId": parent}
    if asset.partition:
        tags["dagster.partition"] = asset.partition
    run = client.create_run(
        exp_id, run_name=f"{asset.key}/{asset.partition or 'unpartitioned'}/{run_id[:8]}", tags=tags
    )
    status = "FAILED"
    try:
        yield handle(client, run.info.run_id, exp_name, exp_id, store.ui_url)
        status = "FINISHED"
    finally:
        client.set_tag(run.info.run_id, "dagster.status", status)
        client.set_terminated(run.info.run_id, status)
        client.set_terminated(parent, "FINISHED")
