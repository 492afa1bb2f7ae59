"""drift_report: the partition's requests against a reference window, as an Evidently report and a warning check."""

import datetime as dt
from pathlib import Path

import dagster as dg

from monitor_pipeline.defs.ingestion.assets import CLEAN_REQUESTS
from monitor_pipeline.defs.partitions import daily_partitions
from monitor_pipeline.defs.tables import OWNERS
from monitor_pipeline.drift_quality.drift import DriftReport, assess_drift
from monitor_pipeline.drift_quality.reference import ReferenceWindow
from monitor_pipeline.resources.mlflow import MlflowResource, MlflowRun
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.tracking.urls import artifact_url
from monitor_pipeline.warehouse.drift_quality import drift_sample

ASSET, CHECK = "drift_report", "drift_share_below_threshold"


def _track(run: MlflowRun, report: DriftReport, html: Path) -> None:
    run.log_params(report.params())
    run.log_metrics(report.metrics())
    run.log_artifact(html, "reports")
    run.log_dict(report.result.columns, "drift_columns.json")
    run.log_metrics(report.embedding_metrics())


@dg.asset(
    name=ASSET,
    group_name="drift_quality",
    kinds={"evidently", "mlflow"},
    owners=OWNERS,
    partitions_def=daily_partitions,
    deps=[CLEAN_REQUESTS],
    pool=WarehouseResource.POOL,
    check_specs=[
        dg.AssetCheckSpec(
            CHECK, asset=ASSET, description="The share of drifted columns stays at or below drift.drift_share."
        )
    ],
)
def drift_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource):
    """Evidently data drift of request features and prompt descriptors: this day against the reference window."""
    cfg = warehouse.settings()
    window = ReferenceWindow.of(dt.date.fromisoformat(context.partition_key), cfg.drift)
    with warehouse.connect(read_only=True) as con:
        reference = drift_sample(con, window.reference, cfg.drift.sample_rows)
        current = drift_sample(con, [window.day], cfg.drift.sample_rows)
    report = assess_drift(reference, current, window, cfg.drift)
    if report.skipped:
        context.log.info("drift skipped for %s: %s", window.day, report.skipped)
        meta = {**report.summary, "skipped": report.skipped}
        yield dg.MaterializeResult(metadata=meta)
        yield dg.AssetCheckResult(
            check_name=CHECK, passed=True, metadata=meta, description=f"skipped: {report.skipped}"
        )
        return
    html = report.save_html(cfg.data_path() / "reports" / "drift" / f"{window.day.isoformat()}.html")
    with mlflow.asset_run(context) as run:
        _track(run, report, html)
        links = run.metadata()
        # The report in MLflow, not the path on the run's machine: the link opens wherever the MLflow UI does.
        report_url = artifact_url(run, f"reports/{html.name}")
    result, drifted = report.result, dg.MetadataValue.json(report.result.drifted)
    meta = {
        **report.summary,
        "drift_share": result.share,
        "drifted_columns": drifted,
        "skipped_columns": dg.MetadataValue.json(result.skipped_columns),
        "columns": dg.MetadataValue.md(report.markdown()),
        "report": dg.MetadataValue.url(report_url),
        **links,
    }
    if result.embedding:
        meta["prompt_embedding_drift"] = dg.MetadataValue.json(result.embedding)
    yield dg.MaterializeResult(metadata=meta)
    yield dg.AssetCheckResult(
        check_name=CHECK,
        passed=report.passed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"drift_share": result.share, "threshold": report.threshold, "drifted_columns": drifted},
    )
