"""security_findings: every rule of configs/rules.yaml over the day's requests; findings stored, counted and alerted."""

import datetime as dt

import dagster as dg
from dagster_pyspark import LazyPySparkResource

from monitor_pipeline.alerts.findings import FindingStore
from monitor_pipeline.defs.partitions import daily_partitions
from monitor_pipeline.escape import markdown_table
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.security.scan import DuckDBRunner, ScanResult, SparkRunner, run_rules, summary_by_rule
from monitor_pipeline.security.store import load_configured_rules, replace_partition, rules_path, to_alerts


def _history_days(rules: list) -> int:
    return max([r.params.history_days for r in rules if r.kind == "burst" and r.enabled] or [0])


def _scan_duckdb(warehouse: WarehouseResource, rules: list, day: dt.date) -> ScanResult:
    lo = day - dt.timedelta(days=_history_days(rules))
    with warehouse.connect() as con:
        con.execute(f"CREATE OR REPLACE TEMP VIEW day_requests AS SELECT * FROM requests WHERE partition_date = DATE '{day}'")
        con.execute(f"CREATE OR REPLACE TEMP VIEW history_requests AS SELECT * FROM requests "
                    f"WHERE partition_date BETWEEN DATE '{lo}' AND DATE '{day}'")
        result = run_rules(DuckDBRunner(con), rules, "day_requests", "history_requests")
        replace_partition(con, day, result.findings)
    return result


def _scan_spark(warehouse: WarehouseResource, spark, rules: list, day: dt.date) -> ScanResult:
    from pyspark.sql import functions as F

    from monitor_pipeline.ingest.engines.spark import SparkEngine

    cfg = warehouse.settings()
    output = cfg.spark.output or str(cfg.data_path() / "spark")
    engine = SparkEngine(spark, output)
    req = engine.read_table("requests")
    if "request_id" not in req.columns:
        raise dg.Failure(f"no requests stored under {output}/requests yet: materialize clean_requests first")
    lo = day - dt.timedelta(days=_history_days(rules))
    req.filter(F.col("partition_date") == F.lit(day)).createOrReplaceTempView("day_requests")
    req.filter(F.col("partition_date").between(F.lit(lo), F.lit(day))).createOrReplaceTempView("history_requests")
    result = run_rules(SparkRunner(spark), rules, "day_requests", "history_requests")
    frame = result.findings.assign(partition_date=day.isoformat())
    path = f"{output}/security_findings/partition_date={day.isoformat()}"
    engine._delete(path)
    if len(frame):
        spark.createDataFrame(frame.drop(columns=["partition_date"])).write.mode("overwrite").parquet(path)
    return result


def _table(summary) -> str:
    return markdown_table(["rule", "kind", "severity", "findings", "scope values", "count"],
                          [[r.rule, r.kind, r.severity, r.findings, r.scope_values, r["count"]] for _, r in summary.iterrows()])


@dg.asset(group_name="security", partitions_def=daily_partitions, deps=["clean_requests"],
          metadata={"table": "security_findings"}, pool=WarehouseResource.POOL)
def security_findings(context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource,
                      pyspark: LazyPySparkResource):
    """Rate, burst, overload, scanning, list, injection, PII and secret rules over the day's requests (configs/rules.yaml)."""
    cfg = warehouse.settings()
    day = dt.date.fromisoformat(context.partition_key)
    rules = load_configured_rules(cfg)
    if cfg.engine == "spark":
        result = _scan_spark(warehouse, pyspark.spark_session, rules, day)
    else:
        result = _scan_duckdb(warehouse, rules, day)
    summary = summary_by_rule(result.findings)
    by_rule = {r.id: 0 for r in rules if r.enabled} | result.counts_by_rule()
    with mlflow.asset_run(context) as run:
        run.log_params({"partition": day.isoformat(), "rules_file": str(rules_path(cfg)), "rules": len(rules),
                        "engine": cfg.engine, "redact": cfg.security.redact})
        run.log_metrics({"rows": result.stats["rows"], "findings": len(result.findings),
                         "text_candidates": result.stats.get("text_candidates", 0),
                         "empty_prompts": result.stats["empty_prompts"],
                         **{f"missing.{k}": v for k, v in result.stats["missing"].items()},
                         **{f"findings.{k}": v for k, v in by_rule.items()}})
        run.log_dict({"stats": result.stats, "by_rule": summary.to_dict(orient="records")}, "security_summary.json")
        links = run.metadata()
    alerts = to_alerts(result.findings, day.isoformat(), cfg.security.alert_severity, run_id=context.run_id,
                       mlflow_url=links["mlflow_run"].value)
    new = FindingStore(cfg.findings_path()).replace("security_findings", day.isoformat(), alerts)
    context.log.info("security %s: %d findings, %d alert(s) (%d new)", day, len(result.findings), len(alerts), new)
    return dg.MaterializeResult(metadata={
        "partition": day.isoformat(), "dagster/row_count": len(result.findings), "rows_scanned": result.stats["rows"],
        "alerts": len(alerts), "by_rule": dg.MetadataValue.md(_table(summary)),
        "findings_by_rule": dg.MetadataValue.json(by_rule), "stats": dg.MetadataValue.json(result.stats),
        "alert_entities": dg.MetadataValue.json(sorted({f"{a.rule}:{a.entity}" for a in alerts})), **links})
