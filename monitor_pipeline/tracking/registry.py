"""The MLflow model registry of forecasters: every candidate a pyfunc LoggedModel and a registered version;
aliases `challenger` (tonight's best) and `champion` (the one in force); each day's champion found again by partition.

Registered model `forecaster.<series>` (see `registered_name`). Each version carries tags `series`, `model`,
`partition` (the day it was trained for) and `forecaster.format`; the version that is a day's champion also carries
`champion.<day>` = `true`, which is how scoring a day (or re-scoring it later) finds the model that was in force.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor_pipeline.forecast.base import Forecaster

if TYPE_CHECKING:  # MLflow loads when a client is made (tracking.store): not in every run process that imports this
    import pandas as pd
    from mlflow.tracking import MlflowClient

    from monitor_pipeline.forecast.promotion import Incumbent
    from monitor_pipeline.tracking.forecaster_model import ForecasterModel

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
ALIAS, CHALLENGER = "champion", "challenger"
FORMAT_TAG, FORMAT = "forecaster.format", "pyfunc-1"  # versions logged before pyfunc models lack the tag


def registered_name(series_key: str) -> str:
    """Registry name of a series' forecaster: `forecaster.requests.latency_p95_ms.model_m1` style."""
    name = "forecaster." + re.sub(r"[^A-Za-z0-9_.-]+", "_", series_key).strip("_")
    # The key's own { = , } become _ as always; any other character replaced came from the data (a model named
    # `m1!`) and could make two series share one registered model: a hash of the key keeps them apart.
    if re.search(r"[^A-Za-z0-9_.{}=,-]", series_key):
        name += "-" + hashlib.sha256(series_key.encode()).hexdigest()[:10]
    return name


def _champion_tag(partition: str) -> str:
    return f"champion.{partition}"


@contextmanager
def _client_uris(client: MlflowClient) -> Iterator[None]:
    """MLflow's global tracking and registry URIs pointed at `client`'s store for the block, then restored.

    `mlflow.pyfunc.log_model` and `models:/` URIs use the global URIs (there is no client-bound form); the rest of
    the pipeline uses bound clients, so the globals (and the environment variables MLflow mirrors them into) are put
    back as they were.
    """
    import mlflow.tracking._model_registry.utils as registry_utils
    import mlflow.tracking._tracking_service.utils as tracking_utils

    saved = (tracking_utils._tracking_uri, registry_utils._registry_uri)
    env = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    try:
        tracking_utils.set_tracking_uri(client.tracking_uri)
        registry_utils.set_registry_uri(client._registry_uri or client.tracking_uri)
        yield
    finally:
        tracking_utils._tracking_uri, registry_utils._registry_uri = saved
        for k, v in env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def _active_run(client: MlflowClient, run_id: str) -> Iterator[None]:
    """Run `run_id` of `client`'s store as MLflow's active run for the block (log_model logs into the active run)."""
    import mlflow

    with _client_uris(client):
        mlflow.start_run(run_id=run_id)
        try:
            yield
        finally:
            # end_run marks the run FINISHED; whoever opened it (tracking.runs.asset_run) sets its final status after.
            mlflow.end_run()


def _ensure_registered_model(client: MlflowClient, name: str, series_key: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(
            name,
            tags={"series": series_key},
            description=f"Forecasters of {series_key}: every backtested candidate; alias `champion` is the one in "
            "force, `challenger` tonight's best. Load with mlflow.pyfunc.load_model('models:/<name>@champion').",
        )
    except MlflowException as exc:
        if "RESOURCE_ALREADY_EXISTS" not in str(getattr(exc, "error_code", "")):
            raise


def log_candidate(
    client: MlflowClient,
    run_id: str,
    model: Forecaster,
    y: pd.Series,
    *,
    series_key: str,
    window: str,
    horizon: int,
    partition: str | None,
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Log a fitted candidate into run `run_id` as a pyfunc model and register it; its name, version and model id."""
    from monitor_pipeline.tracking.forecaster_model import log_forecaster

    name = registered_name(series_key)
    _ensure_registered_model(client, name, series_key)
    version_tags = {"series": series_key, "model": model.name, "partition": partition or "", **(tags or {})}
    with _active_run(client, run_id):
        info = log_forecaster(
            model,
            y,
            series=series_key,
            window=window,
            horizon=horizon,
            registered_model_name=name,
            tags={"partition": partition or ""},
        )
    version = int(info.registered_model_version)
    for k, v in {**version_tags, FORMAT_TAG: FORMAT}.items():
        client.set_model_version_tag(name, str(version), k, v)
    return {"name": name, "version": version, "model_id": info.model_id, "model_uri": info.model_uri}


def _info(version: Any) -> dict[str, Any]:
    if version.tags.get(FORMAT_TAG) != FORMAT:
        raise ValueError(
            f"{version.name} version {version.version} was registered before forecasters were logged as pyfunc "
            f"models; materialize forecast_champions for partition {version.tags.get('partition') or '<day>'} "
            "to register a champion this version can load"
        )
    return {
        "name": version.name,
        "version": int(version.version),
        "run_id": version.run_id,
        "partition": version.tags.get("partition", ""),
        "model": version.tags.get("model", ""),
    }


def champion_version(client: MlflowClient, series_key: str, partition: str | None = None) -> dict | None:
    """The champion of `partition` (else the one in force): name, version, run id, partition, model; None if none."""
    from mlflow.exceptions import MlflowException

    name = registered_name(series_key)
    try:
        if partition:
            found = client.search_model_versions(
                f"name = '{name}' and tags.`{_champion_tag(partition)}` = 'true'",
                order_by=["version_number DESC"],
                max_results=1,
            )
            if found:
                return _info(found[0])
        return _info(client.get_model_version_by_alias(name, ALIAS))
    except MlflowException:  # no registered model or no alias yet
        return None


def download_version(client: MlflowClient, name: str, version: int, dest: Path) -> Path:
    """Copy registered model version `name`/`version` (its MLmodel and artifacts) into `dest`, atomically."""
    import mlflow.artifacts

    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp, _client_uris(client):
        path = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}", dst_path=tmp)
        os.replace(path, dest)  # a half copy is never seen under `dest`
    return dest


def load_version(client: MlflowClient, name: str, version: int) -> ForecasterModel:
    """The pyfunc model of a registered version, loaded (its forecaster as `.forecaster`)."""
    from monitor_pipeline.tracking.forecaster_model import load_forecaster

    with tempfile.TemporaryDirectory() as tmp:
        return load_forecaster(download_version(client, name, version, Path(tmp) / "model"))


def load_champion(
    client: MlflowClient, series_key: str, partition: str | None = None
) -> tuple[Forecaster, dict] | None:
    """The forecaster of `partition`'s champion (else the one in force) and its version info; None if none."""
    info = champion_version(client, series_key, partition)
    if info is None:
        return None
    model = load_version(client, info["name"], info["version"]).forecaster
    return model, {**info, "model": model.name}


def promote(
    client: MlflowClient, series_key: str, challenger: int, partition: str, champion: int, move_alias: bool
) -> None:
    """Alias `challenger` to tonight's best; make `champion` (the challenger or the one kept) `partition`'s champion."""
    name = registered_name(series_key)
    client.set_registered_model_alias(name, CHALLENGER, str(challenger))
    client.set_model_version_tag(name, str(champion), _champion_tag(partition), "true")
    if move_alias:
        client.set_registered_model_alias(name, ALIAS, str(champion))


def champion_in_force(client: MlflowClient, series_key: str) -> Incumbent | None:
    """The version aliased `champion`, loaded, to compare tonight's challenger with; None when there is none
    (or it was registered before forecasters were pyfunc models: the challenger then replaces it)."""
    from mlflow.exceptions import MlflowException

    from monitor_pipeline.forecast.promotion import Incumbent

    try:
        version = client.get_model_version_by_alias(registered_name(series_key), ALIAS)
    except MlflowException:
        return None
    if version.tags.get(FORMAT_TAG) != FORMAT:
        return None
    forecaster = load_version(client, version.name, int(version.version)).forecaster
    return Incumbent(forecaster, int(version.version), version.tags.get("partition", ""))
