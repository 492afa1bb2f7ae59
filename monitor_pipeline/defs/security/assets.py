"""security_findings: every rule of configs/rules.yaml over the day's requests; findings stored, counted and alerted."""

import datetime as dt

import dagster as dg
from dagster_pyspark import LazyPySparkResource

from monitor_pipeline.alerts.findings import FindingStore
from monitor_pipeline.defs.ingestion.assets import CLEAN_REQUESTS
from monitor_pipeline.defs.partitions import daily_partitions
from monitor_pipeline.defs.tables import OWNERS, declared_metadata, stored_metadata
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.security.day import SecurityReport, history_days, scan_day
from monitor_pipeline.security.scan import DuckDBRunner, SparkRunner
from monitor_pipeline.security.store import load_configured_rules, rules_path
from monitor_pipeline.settings import PipelineConfig
from monitor_pipeline.warehouse.security import (
    NoRequestsStored,
    replace_findings,
    replace_spark_findings,
    request_views,
    spark_request_views,
)

ASSET = "security_findings"


def _scan(
    warehouse: WarehouseResource, pyspark: LazyPySparkResource, cfg: PipelineConfig, rules: list, day: dt.date
) -> tuple[SecurityReport, dict]:
    """The day's scan on the configured engine; its findings replace the day's rows of the findings table. Also the
    table's catalog metadata as stored (DuckDB; none for Spark's Parquet output)."""
    if cfg.engine != "spark":
        with warehouse.connect() as con:
            report = scan_day(DuckDBRunner(con), request_views(con, day, history_days(rules)), day, rules)
            replace_findings(con, day, report.findings)
            return report, stored_metadata(con, "security_findings")
    spark, output = pyspark.spark_session, cfg.spark.output or str(cfg.data_path() / "spark")
    try:
        views = spark_request_views(spark, output, day, history_days(rules))
    except NoRequestsStored as exc:
        raise dg.Failure(str(exc)) from None
    report = scan_day(SparkRunner(spark), views, day, rules)
    replace_spark_findings(spark, output, day, report.findings)
    return report, {}


@dg.asset(
    name=ASSET,
    group_name="security",
    partitions_def=daily_partitions,
    deps=[CLEAN_REQUESTS],
    metadata={"table": "security_findings", **declared_metadata("security_findings")},
    pool=WarehouseResource.POOL,
    kinds={"duckdb", "table"},
    owners=OWNERS,
)
def security_findings(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    mlflow: MlflowResource,
    pyspark: LazyPySparkResource,
):
    """Rate, burst, overload, scanning, list, injection, PII and secret rules over the day's requests (configs/rules.yaml)."""
    cfg = warehouse.settings()
    day = dt.date.fromisoformat(context.partition_key)
    rules = load_configured_rules(cfg)
    report, table = _scan(warehouse, pyspark, cfg, rules, day)
    with mlflow.asset_run(context) as run:
        run.log_params(
            {
                "partition": day.isoformat(),
                "rules_file": str(rules_path(cfg)),
                "rules": len(rules),
                "engine": cfg.engine,
                "redact": cfg.security.redact,
            }
        )
        run.log_metrics(report.metrics())
        run.log_dict(report.record(), "security_summary.json")
        links = run.metadata()
    alerts = report.alerts(cfg.security.alert_severity, run_id=context.run_id, mlflow_url=links["mlflow_run"].value)
    new = FindingStore(cfg.findings_path()).replace(ASSET, day.isoformat(), alerts)
    context.log.info("security %s: %d findings, %d alert(s) (%d new)", day, len(report.findings), len(alerts), new)
    return dg.MaterializeResult(
        metadata={
            "partition": day.isoformat(),
            "dagster/row_count": len(report.findings),
            "rows_scanned": report.scan.stats["rows"],
            "alerts": len(alerts),
            "by_rule": dg.MetadataValue.md(report.markdown()),
            "findings_by_rule": dg.MetadataValue.json(report.by_rule),
            "stats": dg.MetadataValue.json(report.scan.stats),
            "alert_entities": dg.MetadataValue.json(sorted({f"{a.rule}:{a.entity}" for a in alerts})),
            **table,
            **links,
        }
    )
