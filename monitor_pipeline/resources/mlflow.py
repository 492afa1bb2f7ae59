"""MLflow for every materialization: one run per Dagster run and asset, nested under a run per Dagster run.

The Dagster resource only: it names the tracking store from config and the asset run from the Dagster context, and
`monitor_pipeline.tracking` makes every MLflow call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import Field

from monitor_pipeline.settings import shared_config
from monitor_pipeline.tracking.runs import AssetRef, RunHandle, asset_run
from monitor_pipeline.tracking.store import Store, artifact_root_for, tracking_uri_for

if TYPE_CHECKING:
    from monitor_pipeline.tracking.store import MlflowClient


class MlflowRun(RunHandle):
    """A run handle (`tracking.runs.RunHandle`) whose links are also Dagster metadata."""

    def metadata(self) -> dict[str, Any]:
        """Dagster metadata pointing at this run."""
        return {**self.links(), "mlflow_run": dg.MetadataValue.url(self.url())}


class MlflowResource(dg.ConfigurableResource):
    """The MLflow tracking store: SQLite under the data dir by default, any tracking server by config."""

    tracking_uri: str | None = Field(
        None, description="default sqlite:///<data_dir>/mlflow.db; e.g. http://mlflow:5000"
    )
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
        return self.store().client()

    def _root(self) -> str | None:
        uri, root, _ = self._configured()
        if root:
            return root
        return None if uri else artifact_root_for(self._data_dir())

    def store(self) -> Store:
        """The tracking store this resource names (the data dir is created when it holds the default SQLite store)."""
        if not self._configured()[0]:
            self._data_dir().mkdir(parents=True, exist_ok=True)
        return Store(self.uri(), self._root(), self._configured()[2], self.experiment_prefix)

    @contextmanager
    def asset_run(
        self,
        context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
        experiment: str | None = None,
        name: str | None = None,
    ) -> Iterator[MlflowRun]:
        """One MLflow run for this asset (or check) in this Dagster run and partition, nested under the run's."""
        store = self.store()
        assets_def = getattr(context, "assets_def", None)
        if name is None:
            keys = assets_def.keys
            name = next(iter(keys)).to_user_string() if len(keys) == 1 else context.op_def.name
        group = experiment or next(iter(assets_def.group_names_by_key.values()), "default")
        partition = context.partition_key if context.has_partition_key else None
        asset = AssetRef(context.run.run_id, context.run.job_name, name, partition)
        with asset_run(store, group, asset, MlflowRun) as run:
            yield run
