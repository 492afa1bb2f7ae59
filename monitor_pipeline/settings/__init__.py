"""The pipeline's configuration: one small pydantic model per stage, assembled by `PipelineConfig`.

Each stage's model lives in the module named for the stage (`settings.ingest`, `settings.validate`,
`settings.drift_quality`, `settings.forecast`, `settings.scalability`, `settings.security`, `settings.alerts`,
`settings.tracking`); domain code imports its stage's module only. `settings.pipeline` assembles them and loads
configs/pipeline.yaml (overlays through `extends:`, env overlays, loaded once per process by `shared_config`).
"""

from __future__ import annotations

from monitor_pipeline.settings.alerts import AlertingConfig
from monitor_pipeline.settings.drift_quality import DriftConfig, ProbesConfig, ProbeTargetConfig, QualityConfig
from monitor_pipeline.settings.forecast import ForecastingConfig, ResourceForecastConfig, SeriesConfig, default_series
from monitor_pipeline.settings.ingest import DuckDBConfig, IngestConfig, SourceConfig, SparkConfig, TimeConfig
from monitor_pipeline.settings.paths import DEFAULT_CONFIG, PROJECT_ROOT
from monitor_pipeline.settings.pipeline import (
    ENV_OVERLAYS,
    PartitionsConfig,
    PipelineConfig,
    config_file,
    load_config,
    shared_config,
)
from monitor_pipeline.settings.scalability import ScalabilityConfig
from monitor_pipeline.settings.security import SecurityConfig
from monitor_pipeline.settings.tracking import MlflowConfig
from monitor_pipeline.settings.validate import ValidationConfig

__all__ = [
    "DEFAULT_CONFIG",
    "ENV_OVERLAYS",
    "PROJECT_ROOT",
    "AlertingConfig",
    "DriftConfig",
    "DuckDBConfig",
    "ForecastingConfig",
    "IngestConfig",
    "MlflowConfig",
    "PartitionsConfig",
    "PipelineConfig",
    "ProbeTargetConfig",
    "ProbesConfig",
    "QualityConfig",
    "ResourceForecastConfig",
    "ScalabilityConfig",
    "SecurityConfig",
    "SeriesConfig",
    "SourceConfig",
    "SparkConfig",
    "TimeConfig",
    "ValidationConfig",
    "config_file",
    "default_series",
    "load_config",
    "shared_config",
]
