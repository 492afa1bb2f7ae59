"""scalability_benchmark: sweep the configured target, fit the curves, log to MLflow, compare with the champion run."""

import tempfile

import dagster as dg
from pydantic import Field

from monitor_pipeline.alerts.findings import FindingStore, as_records
from monitor_pipeline.defs.scalability import runs
from monitor_pipeline.drift_quality.embeddings import EncoderUnavailable
from monitor_pipeline.errors import ConfigError
from monitor_pipeline.resources.mlflow import MlflowResource, MlflowRun
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.scalability.report import run_benchmark
from monitor_pipeline.scalability.review import BenchmarkReview, review_benchmark
from monitor_pipeline.scalability.sweep import quick

ASSET, CHECK = "scalability_benchmark", "scalability_no_regression"


class ScalabilityRunConfig(dg.Config):
    """Run-time options of the sweep."""

    quick: bool = Field(False, description="the quick sweep: a few batch sizes and repetitions (seconds; smoke runs)")


def _track(run: MlflowRun, review: BenchmarkReview) -> None:
    b = review.benchmark
    run.set_tags(
        {
            runs.TARGET: b.target,
            runs.STATUS: b.status,
            "scalability.quick": review.quick,
            "scalability.champion_run_id": review.champion_id or "none",
            runs.CHAMPION: "false",
        }
    )
    run.log_params(review.params())
    run.log_metrics(review.metrics())
    for step, curve in review.curve():  # the reference curve as metric steps (x = step): a chart in the MLflow UI
        run.log_metrics(curve, step=step)
    if (table := review.points_table()) is not None:
        run.log_table(table, "scalability_points.json")
    run.log_dict(review.record(), "scalability_fit.json")
    with tempfile.TemporaryDirectory() as tmp:
        for png in review.plots(tmp):
            run.log_artifact(png, "plots")


@dg.asset(
    name=ASSET,
    group_name="scalability",
    pool=WarehouseResource.POOL,
    check_specs=[
        dg.AssetCheckSpec(
            CHECK,
            asset=ASSET,
            description="Throughput at the reference batch has not dropped "
            "beyond the measured noise, the SLO-safe batch has not shrunk, the sweep completed.",
        )
    ],
)
def scalability_benchmark(
    context: dg.AssetExecutionContext,
    config: ScalabilityRunConfig,
    warehouse: WarehouseResource,
    mlflow: MlflowResource,
):
    """Latency p50/p95, throughput and peak memory across batch sizes, lengths or concurrency; polynomial fits."""
    cfg = warehouse.settings()
    s = quick(cfg.scalability) if config.quick else cfg.scalability
    try:
        b = run_benchmark(s, context.log.info)
    except (ConfigError, EncoderUnavailable) as exc:
        raise dg.Failure(str(exc)) from None
    previous = runs.champion(mlflow, b.target)
    review = review_benchmark(
        b,
        s,
        config.quick,
        runs.summaries(previous),
        runs.history(mlflow, b.target, s.history_runs),
        champion_id=previous.info.run_id if previous else None,
    )
    with mlflow.asset_run(context, experiment=runs.EXPERIMENT) as run:
        _track(run, review)
        links = run.metadata()
    if b.status == "success":  # a partial or failed sweep never replaces the champion
        runs.promote(mlflow, run.run_id, previous)
    findings = review.findings(ASSET, context.run.run_id, links["mlflow_run"].value)
    FindingStore(cfg.findings_path()).replace(ASSET, None, findings)
    yield dg.MaterializeResult(
        metadata={
            "target": b.target,
            "device": b.device,
            "status": b.status,
            "quick": config.quick,
            **review.headline(),
            "sweeps": dg.MetadataValue.md(review.markdown()),
            "errors": dg.MetadataValue.json(b.result.errors),
            "champion_run": review.champion_id or "none",
            **links,
        }
    )
    yield dg.AssetCheckResult(
        check_name=CHECK,
        passed=not review.regressions,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "findings": dg.MetadataValue.json(as_records(findings)),
            "comparison": dg.MetadataValue.json(review.notes),
        },
        description="; ".join(r.title for r in review.regressions) or None,
    )
