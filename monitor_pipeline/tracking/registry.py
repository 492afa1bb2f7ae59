"""The MLflow model registry for forecasters: log a champion with its flavour, register it, load it back by partition."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from monitor_pipeline.forecast.base import Forecaster
from monitor_pipeline.forecast.persist import load_forecaster, save_forecaster

if TYPE_CHECKING:  # MLflow loads when a client is made (tracking.store): not in every run process that imports this
    from mlflow.tracking import MlflowClient

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
ALIAS = "champion"
ARTIFACT = "forecaster"


def registered_name(series_key: str) -> str:
    """Registry name of a series' forecaster: `forecaster.requests.latency_p95_ms.model_m1` style."""
    name = "forecaster." + re.sub(r"[^A-Za-z0-9_.-]+", "_", series_key).strip("_")
    # The key's own { = , } become _ as always; any other character replaced came from the data (a model named
    # `m1!`) and could make two series share one registered model: a hash of the key keeps them apart.
    if re.search(r"[^A-Za-z0-9_.{}=,-]", series_key):
        name += "-" + hashlib.sha256(series_key.encode()).hexdigest()[:10]
    return name


def register_champion(
    client: MlflowClient,
    run_id: str,
    model: Forecaster,
    series_key: str,
    partition: str | None,
    tags: dict[str, str] | None = None,
) -> int:
    """Log `model` into run `run_id` (its MLflow flavour + our metadata), register it, point `champion` at it."""
    with tempfile.TemporaryDirectory() as tmp:
        save_forecaster(model, tmp)
        client.log_artifacts(run_id, tmp, ARTIFACT)
    name = registered_name(series_key)
    try:
        client.create_registered_model(
            name,
            tags={"series": series_key},
            description=f"Champion forecaster of {series_key}, chosen by backtest MASE.",
        )
    except _mlflow_error() as exc:
        if "RESOURCE_ALREADY_EXISTS" not in str(getattr(exc, "error_code", "")):
            raise
    version = client.create_model_version(
        name,
        f"runs:/{run_id}/{ARTIFACT}/model",
        run_id=run_id,
        tags={"series": series_key, "model": model.name, "partition": partition or "", **(tags or {})},
    )
    client.set_registered_model_alias(name, ALIAS, version.version)
    return int(version.version)


def champion_version(client: MlflowClient, series_key: str, partition: str | None = None) -> dict | None:
    """The version registered for `partition` (else the current champion): name, version, run id, partition."""
    name = registered_name(series_key)
    version = None
    try:
        if partition:
            found = client.search_model_versions(
                f"name = '{name}' and tags.partition = '{partition}'", order_by=["version_number DESC"], max_results=1
            )
            version = found[0] if found else None
        version = version or client.get_model_version_by_alias(name, ALIAS)
    except _mlflow_error():  # no registered model or no alias yet
        return None
    if version.run_id is None:  # registered by hand from a path, not by `register_champion`: no run holds the model
        raise ValueError(
            f"{name} version {version.version} has no source run; register champions with register_champion"
        )
    return {
        "name": name,
        "version": int(version.version),
        "run_id": version.run_id,
        "partition": version.tags.get("partition", ""),
    }


def download_champion(client: MlflowClient, run_id: str, dest: Path) -> Path:
    """Copy a champion's saved forecaster from its run into `dest` (made atomically: a half copy is never used)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        path = Path(client.download_artifacts(run_id, ARTIFACT, tmp))
        os.replace(path, dest)
    return dest


def load_champion(
    client: MlflowClient, series_key: str, partition: str | None = None
) -> tuple[Forecaster, dict] | None:
    """The forecaster registered for `partition` (else the current champion) and its version info; None if none."""
    info = champion_version(client, series_key, partition)
    if info is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = client.download_artifacts(info["run_id"], ARTIFACT, tmp)
        model = load_forecaster(Path(path))
    return model, {**info, "model": model.name}


def _mlflow_error() -> type[Exception]:
    """MLflow's exception class (imported once a client exists, which is when it can be raised)."""
    from mlflow.exceptions import MlflowException

    return MlflowException
