"""The Dagster entry point: one code location assembled from the asset groups under monitor_pipeline.defs."""

from __future__ import annotations

import importlib
import pkgutil

import dagster as dg
from dagster_pyspark import LazyPySparkResource

import monitor_pipeline.defs as groups
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.slack import SlackAlertsResource
from monitor_pipeline.resources.spark import spark_conf
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.settings import shared_config


def group_definitions() -> list[dg.Definitions]:
    """Every asset group's `defs` (each defs/<group>/__init__.py lists what the group defines), by group name."""
    found = []
    for info in sorted(pkgutil.iter_modules(groups.__path__), key=lambda m: m.name):
        if info.ispkg:
            module = importlib.import_module(f"{groups.__name__}.{info.name}")
            found.append(module.defs)
    return found


def build_definitions(config_path: str | None = None, data_dir: str | None = None) -> dg.Definitions:
    """The Definitions for a config file (default: MONITOR_CONFIG or configs/pipeline.yaml)."""
    cfg = shared_config(config_path)
    resources = dg.Definitions(
        resources={
            "warehouse": WarehouseResource(config_path=config_path, data_dir=data_dir),
            "mlflow": MlflowResource(config_path=config_path, data_dir=data_dir),
            "slack": SlackAlertsResource(config_path=config_path, data_dir=data_dir),
            # Lazy: the session starts only when an asset runs with engine: spark.
            "pyspark": LazyPySparkResource(spark_config=spark_conf(cfg.spark)),
        },
        # One process: the DuckDB warehouse and the SQLite MLflow store take one writer at a time.
        executor=dg.in_process_executor,
    )
    return dg.Definitions.merge(*group_definitions(), resources)


defs = build_definitions()
