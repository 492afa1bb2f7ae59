"""MLflow for every materialization: one run per Dagster run and asset, nested under a run per Dagster run."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient
from pydantic import Field

from monitor_pipeline.escape import mlflow_name, mlflow_name_tags
from monitor_pipeline.settings import shared_config
from monitor_pipeline.tracking.mlflow import artifact_root_for, ensure_experiment, split_metrics, tracking_uri_for

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


class MlflowRun:
    """A handle on one MLflow run: log params, metrics and artifacts; its ids for Dagster metadata."""

    def __init__(self, client: MlflowClient, run_id: str, experiment: str, experiment_id: str, ui_url: str) -> None:
        self.client, self.run_id, self.experiment, self.experiment_id, self.ui_url = (
            client, run_id, experiment, experiment_id, ui_url)

    def _keep_names(self, names: Iterable[str]) -> None:
        """Tag `name.<sanitized>` = original for each key that `mlflow_name` changed (models, users, ... in names)."""
        tags = [RunTag(k, v[:5000]) for k, v in mlflow_name_tags(names).items()]
        for i in range(0, len(tags), 100):
            self.client.log_batch(self.run_id, tags=tags[i:i + 100])

    def log_params(self, params: dict[str, Any]) -> None:
        """Log params (stringified, MLflow's 6000-character cap applied; names through `mlflow_name`)."""
        self._keep_names(params)
        items = [Param(mlflow_name(k), str(v)[:6000]) for k, v in params.items()]
        for i in range(0, len(items), 100):
            self.client.log_batch(self.run_id, params=items[i:i + 100])

    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> list[str]:
        """Log the finite numbers; return (and tag) the names of values that were not numbers."""
        good, skipped = split_metrics(metrics)
        import time

        now = int(time.time() * 1000)
        self._keep_names(good)
        items = [Metric(mlflow_name(k), v, now, step or 0) for k, v in good.items()]
        for i in range(0, len(items), 500):
            self.client.log_batch(self.run_id, metrics=items[i:i + 500])
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
        self._keep_names(tags)
        items = [RunTag(mlflow_name(k), str(v)[:5000]) for k, v in tags.items()]
        for i in range(0, len(items), 100):
            self.client.log_batch(self.run_id, tags=items[i:i + 100])

    def log_table(self, df: Any, name: str) -> None:
        """A DataFrame as an MLflow table artifact (shown as a table in the MLflow UI)."""
        self.client.log_table(self.run_id, df, name)

    def metadata(self) -> dict[str, Any]:
        """Dagster metadata pointing at this run."""
        url = f"{self.ui_url.rstrip('/')}/#/experiments/{self.experiment_id}/runs/{self.run_id}"
        return {"mlflow_run_id": self.run_id, "mlflow_experiment": self.experiment, "mlflow_run": dg.MetadataValue.url(url)}


class MlflowResource(dg.ConfigurableResource):
    """The MLflow tracking store: SQLite under the data dir by default, any tracking server by config."""

    tracking_uri: str | None = Field(None, description="default sqlite:///<data_dir>/mlflow.db; e.g. http://mlflow:5000")
    artifact_root: str | None = Field(None, description="default <data_dir>/mlartifacts; e.g. s3://bucket/mlflow")
    experiment_prefix: str = Field("monitor_pipeline", description="experiments are <prefix>/<asset group>")
    ui_url: str = Field("http://127.0.0.1:5000", description="base URL of the MLflow UI, for links in Dagster")
    config_path: str | None = Field(None, description="pipeline YAML that names the data dir")
    data_dir: str | None = Field(None, description="overrides the config's data_dir (tests)")

    def _data_dir(self) -> Path:
        return Path(self.data_dir).resolve() if self.data_dir else shared_config(self.config_path).data_path()

    def _configured(self) -> tuple[str | None, str | None, str]:
        """(tracking URI, artifact root, UI URL): this resource's fields, else the config's `mlflow` section."""
        if self.tracking_uri or self.data_dir:
            return self.tracking_uri, self.artifact_root, self.ui_url
        m = shared_config(self.config_path).mlflow
        return m.tracking_uri, self.artifact_root or m.artifact_root, m.ui_url

    def uri(self) -> str:
        """The tracking URI in use."""
        return self._configured()[0] or tracking_uri_for(self._data_dir())

    def client(self) -> MlflowClient:
        """A client bound to this store (no global MLflow state is touched)."""
        if not self._configured()[0]:
            self._data_dir().mkdir(parents=True, exist_ok=True)
        return MlflowClient(tracking_uri=self.uri())

    def _root(self) -> str | None:
        uri, root, _ = self._configured()
        if root:
            return root
        return None if uri else artifact_root_for(self._data_dir())

    @contextmanager
    def asset_run(self, context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
                  experiment: str | None = None, name: str | None = None) -> Iterator[MlflowRun]:
        """One MLflow run for this asset (or check) in this Dagster run and partition, nested under the run's."""
        client = self.client()
        assets_def = getattr(context, "assets_def", None)
        if name is None:
            keys = assets_def.keys
            name = next(iter(keys)).to_user_string() if len(keys) == 1 else context.op_def.name
        key = name
        group = experiment or next(iter(assets_def.group_names_by_key.values()), "default")
        exp_name = f"{self.experiment_prefix}/{group}"
        exp_id = ensure_experiment(client, exp_name, self._root())
        run_id = context.run.run_id
        partition = context.partition_key if context.has_partition_key else None
        base = {"dagster.run_id": run_id, "dagster.job": context.run.job_name}
        parents = client.search_runs([exp_id], f"tags.`dagster.run_id` = '{run_id}' and tags.`dagster.parent` = 'true'",
                                     max_results=1)
        parent = parents[0].info.run_id if parents else client.create_run(
            exp_id, run_name=f"dagster-{context.run.job_name}-{run_id[:8]}", tags={**base, "dagster.parent": "true"}).info.run_id
        tags = {**base, "dagster.asset_key": key, "mlflow.parentRunId": parent}
        if partition:
            tags["dagster.partition"] = partition
        run = client.create_run(exp_id, run_name=f"{key}/{partition or 'unpartitioned'}/{run_id[:8]}", tags=tags)
        handle = MlflowRun(client, run.info.run_id, exp_name, exp_id, self._configured()[2])
        status = "FAILED"
        try:
            yield handle
            status = "FINISHED"
        finally:
            client.set_tag(run.info.run_id, "dagster.status", status)
            client.set_terminated(run.info.run_id, status)
            client.set_terminated(parent, "FINISHED")
