"""MLflow: where runs, metrics and artifacts are recorded."""

from __future__ import annotations

import re

from pydantic import Field, field_serializer

from monitor_pipeline.settings.base import Strict


class MlflowConfig(Strict):
    """Where runs, metrics and artifacts are recorded."""

    tracking_uri: str | None = Field(
        None,
        description="default sqlite:///<data_dir>/mlflow.db; any server URI "
        "(http://mlflow:5000, postgresql+psycopg2://...) "
        "(env MLFLOW_TRACKING_URI)",
    )
    artifact_root: str | None = Field(None, description="default <data_dir>/mlartifacts; e.g. s3://bucket/mlflow")
    ui_url: str = Field("http://127.0.0.1:5000", description="MLflow UI base URL for links in Dagster metadata")

    @field_serializer("tracking_uri")
    def _hide_password(self, v: str | None) -> str | None:
        # `monitor-pipeline config` prints this model; a database URI from MLFLOW_TRACKING_URI carries a password.
        return re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", v) if v else v
