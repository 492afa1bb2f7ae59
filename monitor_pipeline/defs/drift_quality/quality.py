"""quality_report: classification metrics of labeled requests, output-distribution tests, the online-log accuracy."""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from monitor_pipeline.defs.ingestion.assets import CLEAN_REQUESTS
from monitor_pipeline.defs.partitions import daily_partitions
from monitor_pipeline.drift_quality.quality_report import QualityReport, QualitySamples, assess_quality
from monitor_pipeline.drift_quality.reference import ReferenceWindow
from monitor_pipeline.resources.mlflow import MlflowResource, MlflowRun
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.tracking.urls import artifact_url
from monitor_pipeline.warehouse.drift_quality import online_log, quality_sample

ASSET = "quality_report"
FLOORS, OUTPUTS, ONLINE = "quality_metrics_above_floor", "output_distribution_stable", "online_accuracy_above_floor"


def _track(run: MlflowRun, report: QualityReport, html: Path | None) -> None:
    run.log_params(report.params())
    run.set_tags(report.tags())
    if html is not None:
        run.log_artifact(html, "reports")
        run.log_table(report.windows_table(), "quality_windows.json")
    if (online := report.online_table()) is not None:
        run.log_table(online, "online_accuracy.json")
    run.log_metrics(report.metrics())
    run.log_dict([t.__dict__ for t in report.tests], "output_tests.json")


def _skip(check: str, reason: str, meta: dict) -> dg.AssetCheckResult:
    # Dagster has no "skipped" result a step can yield; a passing result that says so keeps the UI honest.
    return dg.AssetCheckResult(
        check_name=check, passed=True, metadata={**meta, "skipped": reason}, description=f"skipped: {reason}"
    )


def _checks(report: QualityReport, links: dict) -> Iterator[dg.AssetCheckResult]:
    q, partition = report.cfg, {"partition": report.window.day.isoformat()}
    if report.result:
        below = report.below_floor()
        yield dg.AssetCheckResult(
            check_name=FLOORS,
            passed=not below,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "below_floor": dg.MetadataValue.json(below),
                "floors": dg.MetadataValue.json(dict(q.floors)),
                **links,
            },
            description=None if not below else f"{len(below)} metric(s) under their floor",
        )
    else:
        yield _skip(FLOORS, report.skipped, partition)
    if report.tests:
        yield dg.AssetCheckResult(
            check_name=OUTPUTS,
            passed=not report.rejected,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "rejected": dg.MetadataValue.json(report.rejected),
                "tests": dg.MetadataValue.md(report.tests_markdown()),
                "alpha": q.alpha,
            },
        )
    else:
        yield _skip(OUTPUTS, report.outputs_skipped, {"reference": report.summary["reference"]})
    online = report.online
    if online["samples"]:
        yield dg.AssetCheckResult(
            check_name=ONLINE,
            passed=not online["below_floor"],
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "below_floor": dg.MetadataValue.json(online["below_floor"]),
                "floor": q.online_accuracy_floor,
                "samples": online["samples"],
            },
        )
    else:
        yield _skip(ONLINE, "no online.log samples for this day", partition)


@dg.asset(
    name=ASSET,
    group_name="drift_quality",
    partitions_def=daily_partitions,
    deps=[CLEAN_REQUESTS],
    pool=WarehouseResource.POOL,
    check_specs=[
        dg.AssetCheckSpec(
            FLOORS,
            asset=ASSET,
            description="Accuracy, precision, recall, F1 and ROC-AUC (whole day and "
            "per model) stay at or above quality.floors.",
        ),
        dg.AssetCheckSpec(
            OUTPUTS,
            asset=ASSET,
            description="Chi-square test of each categorical output (predicted "
            "class, error type) against the reference window does not reject at quality.alpha.",
        ),
        dg.AssetCheckSpec(
            ONLINE,
            asset=ASSET,
            description="The seed's online.log accuracy stays at or above quality.online_accuracy_floor every hour.",
        ),
    ],
)
def quality_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource):
    """Model quality of the day's labeled requests (Evidently classification preset) against the reference window."""
    cfg = warehouse.settings()
    q, window = cfg.quality, ReferenceWindow.of(dt.date.fromisoformat(context.partition_key), cfg.drift)
    with warehouse.connect(read_only=True) as con:

        def sample(days, labeled: bool):
            return quality_sample(con, days, q.sample_rows, q.output_columns, labeled_only=labeled)

        samples = QualitySamples(
            current=sample([window.day], True),
            reference=sample(window.reference, True),
            current_all=sample([window.day], False),
            reference_all=sample(window.reference, False),
            online_log=online_log(con, window.day),
        )
    report = assess_quality(samples, window, q)
    if report.skipped:
        context.log.info("quality metrics skipped for %s: %s", window.day, report.skipped)
    html = (
        report.save_html(cfg.data_path() / "reports" / "quality" / f"{window.day.isoformat()}.html")
        if report.result
        else None
    )
    with mlflow.asset_run(context) as run:
        _track(run, report, html)
        links = run.metadata()
        report_url = artifact_url(run, f"reports/{html.name}") if html is not None else ""
    meta = {
        **report.summary,
        **links,
        "output_tests": dg.MetadataValue.md(report.tests_markdown()),
        "online_log_samples": report.online["samples"],
        **report.headline(),
    }
    if report.result:
        meta |= {
            "by_model": dg.MetadataValue.md(report.by_model_markdown()),
            "report": dg.MetadataValue.url(report_url),  # in MLflow: opens from any machine
        }
    else:
        meta["skipped"] = report.skipped
    yield dg.MaterializeResult(metadata=meta)
    yield from _checks(report, links)
