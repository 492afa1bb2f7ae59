"""MLflow helpers without Dagster: store locations, experiments, and metrics that are really numbers."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from mlflow.tracking import MlflowClient


def tracking_uri_for(data_dir: Path) -> str:
    """The default tracking store: SQLite under the data dir."""
    return f"sqlite:///{Path(data_dir).resolve() / 'mlflow.db'}"


def artifact_root_for(data_dir: Path) -> str:
    """The default artifact root: a folder under the data dir."""
    return (Path(data_dir).resolve() / "mlartifacts").as_uri()


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
