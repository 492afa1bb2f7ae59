"""The warehouse resource: the pipeline config, the DuckDB database, and the engine that ingests into it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

import dagster as dg
import duckdb
from pydantic import Field

from monitor_pipeline.errors import EngineError
from monitor_pipeline.ingest.engines.base import Engine
from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
from monitor_pipeline.ingest.engines.duckdb_connect import connect as duckdb_connect
from monitor_pipeline.settings import PipelineConfig, shared_config
from monitor_pipeline.warehouse.lock import open_waiting_for_lock
from monitor_pipeline.warehouse.spark_views import attach_spark_output


class WarehouseResource(dg.ConfigurableResource):
    """Where ingested tables live: a DuckDB file under the data dir, or Spark's Parquet output."""

    # The concurrency pool of every asset and check that uses the warehouse: DuckDB takes one writer process, so
    # with the instance's `concurrency: pools: default_limit: 1` their steps take turns across runs.
    POOL: ClassVar[str] = "warehouse"

    config_path: str | None = Field(None, description="pipeline YAML; default MONITOR_CONFIG or configs/pipeline.yaml")
    data_dir: str | None = Field(None, description="overrides the config's data_dir (e.g. a test's tmp dir)")

    def settings(self) -> PipelineConfig:
        """The validated pipeline config (loaded once per process, shared) with this resource's overrides applied."""
        cfg = shared_config(self.config_path)
        if self.data_dir:
            cfg = cfg.model_copy(update={"data_dir": str(Path(self.data_dir).resolve())})
        return cfg

    def engine(self, spark_session=None) -> Engine:
        """The configured engine; Spark needs the session from the pyspark resource."""
        cfg = self.settings()
        if cfg.engine == "spark":
            from monitor_pipeline.ingest.engines.spark import SparkEngine

            if spark_session is None:
                raise dg.Failure("engine: spark needs the `pyspark` resource's session")
            return SparkEngine(spark_session, cfg.spark.output or str(cfg.data_path() / "spark"))
        return DuckDBEngine(
            cfg.warehouse_path(),
            cfg.duckdb.memory_limit,
            cfg.duckdb.threads,
            chunk_bytes=cfg.ingest.chunk_bytes,
            lock_timeout_s=cfg.duckdb.lock_timeout_s,
            logger=dg.get_dagster_logger(),
        )

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the DuckDB warehouse (tables created if missing).

        While another process holds the file, it waits with backoff up to duckdb.lock_timeout_s, logging each wait
        to the run, then fails with EngineError naming the holder.
        """
        cfg = self.settings()
        path, wait_s, logger = cfg.warehouse_path(), cfg.duckdb.lock_timeout_s, dg.get_dagster_logger()
        if read_only and path.exists():
            try:
                con = open_waiting_for_lock(lambda: duckdb.connect(str(path), read_only=True), path, wait_s, logger)
            except duckdb.IOException as exc:
                raise EngineError(f"cannot open the DuckDB warehouse {path} read-only: {exc}") from None
            con.execute("SET TimeZone = 'UTC'")
        else:
            con = duckdb_connect(
                path, cfg.duckdb.memory_limit, cfg.duckdb.threads, lock_timeout_s=wait_s, logger=logger
            )
        try:
            if cfg.engine == "spark":  # the tables live in Spark's Parquet output: read them through views
                attach_spark_output(con, cfg.spark.output or str(cfg.data_path() / "spark"))
            yield con
        finally:
            con.close()
