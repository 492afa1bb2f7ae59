"""Links to a run's artifacts in the MLflow UI: what a Dagster page shows instead of a path on the run's machine."""

from __future__ import annotations

from urllib.parse import quote

from monitor_pipeline.tracking.runs import RunHandle


def artifact_page_url(ui_url: str, experiment_id: str, run_id: str, path: str) -> str:
    """The MLflow UI page previewing artifact `path` of a run (HTML and images are rendered there)."""
    return f"{ui_url.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}/artifactPath/{quote(path)}"


def artifact_file_url(ui_url: str, run_id: str, path: str) -> str:
    """The artifact's bytes as the MLflow server serves them (a download; the server must serve artifacts)."""
    return f"{ui_url.rstrip('/')}/get-artifact?path={quote(path, safe='')}&run_uuid={quote(run_id, safe='')}"


def artifact_url(run: RunHandle, path: str) -> str:
    """The MLflow UI page of artifact `path` (relative to the run's artifact root) of `run`."""
    return artifact_page_url(run.ui_url, run.experiment_id, run.run_id, path)
