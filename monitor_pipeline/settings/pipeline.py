"""configs/pipeline.yaml: the stage configs assembled, the paths they name, and the loaders (fresh and shared)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from monitor_pipeline.errors import ConfigError
from monitor_pipeline.settings.alerts import AlertingConfig
from monitor_pipeline.settings.base import Strict
from monitor_pipeline.settings.cache import load_once
from monitor_pipeline.settings.drift_quality import DriftConfig, ProbesConfig, QualityConfig
from monitor_pipeline.settings.files import read_config, validation_message
from monitor_pipeline.settings.forecast import ForecastingConfig, ResourceForecastConfig
from monitor_pipeline.settings.ingest import DuckDBConfig, IngestConfig, LiveConfig, SourceConfig, SparkConfig
from monitor_pipeline.settings.paths import DEFAULT_CONFIG, PROJECT_ROOT, absolute
from monitor_pipeline.settings.scalability import ScalabilityConfig
from monitor_pipeline.settings.security import SecurityConfig
from monitor_pipeline.settings.tracking import MlflowConfig
from monitor_pipeline.settings.validate import ValidationConfig

# The environment variables that override a key of the file (the only env reads of the config).
ENV_OVERLAYS: dict[str, tuple[str, ...]] = {
    "MONITOR_DATA_DIR": ("data_dir",),
    "MONITOR_ENGINE": ("engine",),
    "MLFLOW_TRACKING_URI": ("mlflow", "tracking_uri"),
    "MONITOR_SPARK_MASTER": ("spark", "master"),
}


class PartitionsConfig(Strict):
    """Daily partitions of the asset graph."""

    start_date: dt.date = Field(dt.date(2026, 11, 1), description="first daily partition (UTC)")


class PipelineConfig(Strict):
    """configs/pipeline.yaml."""

    data_dir: str = Field(".monitor", description="warehouse, MLflow store and artifacts (env MONITOR_DATA_DIR)")
    engine: Literal["duckdb", "spark"] = Field("duckdb", description="ingestion engine (env MONITOR_ENGINE)")
    duckdb: DuckDBConfig = DuckDBConfig()
    spark: SparkConfig = SparkConfig()
    ingest: IngestConfig = IngestConfig()
    live: LiveConfig = LiveConfig()
    partitions: PartitionsConfig = PartitionsConfig()
    mlflow: MlflowConfig = MlflowConfig()
    validation: ValidationConfig = ValidationConfig()
    drift: DriftConfig = DriftConfig()
    quality: QualityConfig = QualityConfig()
    probes: ProbesConfig = ProbesConfig()
    forecasting: ForecastingConfig = ForecastingConfig()
    resource_forecast: ResourceForecastConfig = ResourceForecastConfig()
    scalability: ScalabilityConfig = ScalabilityConfig()
    alerting: AlertingConfig = AlertingConfig()
    security: SecurityConfig = SecurityConfig()
    sources: list[SourceConfig] = Field(default_factory=list, description="the feeds to ingest")

    root: Path = Field(PROJECT_ROOT, exclude=True, description="base of relative paths")

    @model_validator(mode="after")
    def _files_exist(self) -> PipelineConfig:
        self.security.check_rules_file(self.root)
        return self

    def data_path(self) -> Path:
        """The data dir as an absolute path."""
        return absolute(self.root, self.data_dir)

    def expectations_path(self) -> Path:
        """The folder of Great Expectations suites."""
        if self.validation.expectations_dir is None:
            return PROJECT_ROOT / "expectations"
        return absolute(self.root, self.validation.expectations_dir)

    def golden_path(self) -> Path:
        """The folder of golden probe sets."""
        if self.probes.golden_dir is None:
            return PROJECT_ROOT / "assets" / "golden"
        return absolute(self.root, self.probes.golden_dir)

    def warehouse_path(self) -> Path:
        """The DuckDB warehouse file."""
        return self.data_path() / "warehouse.duckdb"

    def findings_path(self) -> Path:
        """The SQLite store of findings (alert-worthy rows) and the alert outbox's neighbour."""
        return self.data_path() / "findings.db"

    def source_paths(self, source: SourceConfig) -> list[str]:
        """A source's paths with relative ones made absolute against the root."""
        return [p if "://" in p else str(absolute(self.root, p)) for p in source.paths]


def config_file(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The pipeline config file: `path`, else MONITOR_CONFIG, else configs/pipeline.yaml; resolved."""
    env = os.environ if env is None else env
    return Path(path or env.get("MONITOR_CONFIG") or DEFAULT_CONFIG).expanduser().resolve()


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> PipelineConfig:
    """Read the pipeline config (MONITOR_CONFIG or configs/pipeline.yaml, with the files it `extends`) and apply the
    env overlays; a fresh object on every call (see `shared_config` for the one a process shares)."""
    env = dict(os.environ if env is None else env)
    file = config_file(path, env)
    source = read_config(file, "config file not found (set MONITOR_CONFIG or pass --config)")
    data = source.data
    for var, (*parents, key) in ENV_OVERLAYS.items():
        if env.get(var):
            section = data
            for p in parents:
                section = section.setdefault(p, {})
            section[key] = env[var]
    # Relative paths are taken from the project root: the folder that holds configs/, else the file's folder.
    root = file.parent.parent if file.parent.name == "configs" else file.parent
    try:
        cfg = PipelineConfig(**data, root=root)
    except ValidationError as exc:
        raise ConfigError(validation_message(source, exc)) from None
    names = [s.name for s in cfg.sources]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(
            f"{source.where(('sources',))}: key `sources`: source names must be unique, repeated: {', '.join(dupes)}"
        )
    return cfg


def shared_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> PipelineConfig:
    """The pipeline config loaded once per process: the same object until the file (or a file it extends) changes
    or an env overlay differs. Shared: never mutate it; derive with `model_copy(update=...)`."""
    env = dict(os.environ if env is None else env)
    file = config_file(path, env)
    key = ("pipeline", file, tuple(env.get(var) or "" for var in ENV_OVERLAYS))
    return load_once(key, lambda: load_config(file, env))
