"""scalability_benchmark: sweep the configured target, fit the curves, log to MLflow, compare with the champion run."""

import tempfile

import dagster as dg
from pydantic import Field

from monitor_pipeline.alerts.findings import Finding, FindingStore, as_records
from monitor_pipeline.defs.scalability import runs
from monitor_pipeline.drift_quality.embeddings import EncoderUnavailable
from monitor_pipeline.errors import ConfigError
from monitor_pipeline.escape import markdown_table
from monitor_pipeline.resources.mlflow import MlflowResource, MlflowRun
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.scalability.compare import compare, flatten
from monitor_pipeline.scalability.plots import sweep_plots
from monitor_pipeline.scalability.report import Benchmark, run_benchmark, to_json
from monitor_pipeline.scalability.sweep import quick

ASSET, CHECK = "scalability_benchmark", "scalability_no_regression"


class ScalabilityRunConfig(dg.Config):
    """Run-time options of the sweep."""

    quick: bool = Field(False, description="the quick sweep: a few batch sizes and repetitions (seconds; smoke runs)")


def _log(run: MlflowRun, b: Benchmark, cfg, quick_mode: bool, notes: dict, champion_id: str | None) -> None:
    run.set_tags({runs.TARGET: b.target, runs.STATUS: b.status, "scalability.quick": quick_mode,
                  "scalability.champion_run_id": champion_id or "none", runs.CHAMPION: "false"})
    run.log_params({"target": b.target, "device": b.device, "quick": quick_mode, "slo_p95_ms": cfg.slo_p95_ms,
                    "reference_batch": cfg.reference_batch, "batch_sizes": cfg.batch_sizes, "lengths": cfg.lengths,
                    "concurrency": cfg.concurrency, "warmup": cfg.warmup, "min_repetitions": cfg.min_repetitions,
                    "max_repetitions": cfg.max_repetitions, "compared_with": champion_id or "none"})
    metrics = flatten(b.analysis) | {"points_failed_total": float(len(b.result.errors)), "sweep_seconds": b.result.seconds}
    for sweep, a in b.analysis.items():
        metrics |= {f"{sweep}.r2.{m}": f["r2"] for m, f in a.get("fits", {}).items() if f.get("r2") is not None}
        metrics |= {f"{sweep}.{k}": v for k, v in notes.get(sweep, {}).items()
                    if isinstance(v, float) and k in ("throughput_drop", "drop_threshold", "noise")}
    run.log_metrics(metrics)
    ok = b.result.ok()
    for sweep, a in b.analysis.items():  # the reference curve as metric steps (x = step): a chart in the MLflow UI
        ref = a.get("reference_series")
        pts = ok[(ok["sweep"] == sweep) & ((ok["series"] == ref) if ref is not None else True)]
        for r in pts.itertuples():
            run.log_metrics({f"{sweep}.curve.latency_ms_p95": r.latency_ms_p95, f"{sweep}.curve.throughput": r.throughput,
                             f"{sweep}.curve.rss_peak_mb": r.rss_peak_mb}, step=int(r.x))
    if len(b.result.points):
        table = b.result.points.copy()
        if "rep_throughput" in table:  # lists → text: one cell per point in MLflow's table view
            table["rep_throughput"] = table["rep_throughput"].map(lambda v: ",".join(map(str, v)) if isinstance(v, list) else "")
        run.log_table(table, "scalability_points.json")
    run.log_dict({**to_json(b, quick_mode), "comparison": notes}, "scalability_fit.json")
    with tempfile.TemporaryDirectory() as tmp:
        for png in sweep_plots(b.result.points, b.analysis, tmp, cfg.slo_p95_ms):
            run.log_artifact(png, "plots")


@dg.asset(
    name=ASSET, group_name="scalability", pool=WarehouseResource.POOL,
    check_specs=[dg.AssetCheckSpec(CHECK, asset=ASSET, description="Throughput at the reference batch has not dropped "
                                   "beyond the measured noise, the SLO-safe batch has not shrunk, the sweep completed.")],
)
def scalability_benchmark(context: dg.AssetExecutionContext, config: ScalabilityRunConfig, warehouse: WarehouseResource,
                          mlflow: MlflowResource):
    """Latency p50/p95, throughput and peak memory across batch sizes, lengths or concurrency; polynomial fits."""
    cfg = warehouse.settings()
    s = quick(cfg.scalability) if config.quick else cfg.scalability
    try:
        b = run_benchmark(s, context.log.info)
    except (ConfigError, EncoderUnavailable) as exc:
        raise dg.Failure(str(exc)) from None
    previous = runs.champion(mlflow, b.target)
    regressions, notes = compare(b.analysis, runs.summaries(previous), runs.history(mlflow, b.target, s.history_runs),
                                 s, b.result.errors)
    with mlflow.asset_run(context, experiment=runs.EXPERIMENT) as run:
        _log(run, b, s, config.quick, notes, previous.info.run_id if previous else None)
        links = run.metadata()
    if b.status == "success":  # a partial or failed sweep never replaces the champion
        runs.promote(mlflow, run.run_id, previous)
    findings = [Finding(source=ASSET, rule=r.rule, entity=f"{b.target}/{r.sweep}", severity=r.severity, title=r.title,
                        value=r.value, threshold=r.threshold, expected=r.expected, detail=r.detail,
                        dagster_run_id=context.run.run_id, mlflow_run_url=links["mlflow_run"].value)
                for r in regressions]
    FindingStore(cfg.findings_path()).replace(ASSET, None, findings)
    summary = to_json(b, config.quick)
    table = markdown_table(
        ["sweep", "reference", "throughput/s", "SLO-safe", "knee", "R² p95", "R² throughput"],
        [[sweep, f"{a.get('axis')}={a.get('reference_x')}", f"{a.get('throughput_ref') or 0:.4g}", a.get("slo_safe"),
          a.get("knee"), a["r2"].get("latency_ms_p95"), a["r2"].get("throughput")] for sweep, a in summary["summary"].items()])
    yield dg.MaterializeResult(metadata={
        "target": b.target, "device": b.device, "status": b.status, "quick": config.quick,
        "slo_safe_batch": summary["slo_safe_batch"], "knee": summary["knee"], "throughput_ref": summary["throughput_ref"],
        "sweeps": dg.MetadataValue.md(table), "errors": dg.MetadataValue.json(b.result.errors),
        "champion_run": previous.info.run_id if previous else "none", **links})
    yield dg.AssetCheckResult(
        check_name=CHECK, passed=not regressions, severity=dg.AssetCheckSeverity.WARN,
        metadata={"findings": dg.MetadataValue.json(as_records(findings)), "comparison": dg.MetadataValue.json(notes)},
        description="; ".join(r.title for r in regressions) or None)
