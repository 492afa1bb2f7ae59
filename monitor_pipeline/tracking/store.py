"""Where runs are kept: the tracking store's URI, the artifact root of new experiments, a client bound to them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when a client is made (1.2 s): every Dagster run process imports this module
    from mlflow.tracking import MlflowClient


def tracking_uri_for(data_dir: Path) -> str:
    """The default tracking store: SQLite under the data dir."""
    return f"sqlite:///{Path(data_dir).resolve() / 'mlflow.db'}"


def artifact_root_for(data_dir: Path) -> str:
    """The default artifact root: a folder under the data dir."""
    return (Path(data_dir).resolve() / "mlartifacts").as_uri()


@dataclass(frozen=True)
class Store:
    """A tracking store: its URI, the artifact root of experiments it creates (None: the server's), the UI for links."""

    uri: str
    artifact_root: str | None
    ui_url: str
    experiment_prefix: str = "monitor_pipeline"

    def client(self) -> MlflowClient:
        """A client bound to this store (no global MLflow state is touched)."""
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.uri)

    def experiment_name(self, group: str) -> str:
        """The experiment of an asset group (or of a named experiment): `<prefix>/<group>`."""
        return f"{self.experiment_prefix}/{group}"


def ensure_experiment(client: MlflowClient, name: str, artifact_root: str | None) -> str:
    """The id of experiment `name`, created (with its artifacts under `artifact_root`) when missing."""
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    location = f"{artifact_root.rstrip('/')}/{name.replace('/', '_')}" if artifact_root else None
    try:
        return client.create_experiment(name, artifact_location=location)
    except Exception:  # created concurrently by another run: use that one
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise
        return exp.experiment_id
