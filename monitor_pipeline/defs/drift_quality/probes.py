"""quality_probes: golden probe sets sent to a live target, scored, and compared with the previous run in MLflow."""

import dagster as dg

from monitor_pipeline.drift_quality.embeddings import EncoderUnavailable
from monitor_pipeline.drift_quality.probes.endpoints import TargetUnavailable
from monitor_pipeline.drift_quality.probes.runner import PreviousRun, ProbeRun, SetOutcome, run_golden_sets
from monitor_pipeline.drift_quality.probes.sets import ProbeSetError
from monitor_pipeline.errors import ConfigError
from monitor_pipeline.resources.mlflow import MlflowResource, MlflowRun
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.tracking.history import previous_probe_run

ASSET, CHECK, EXPERIMENT = "quality_probes", "golden_pass_rate_no_significant_drop", "quality_probes"


def previous_run(mlflow: MlflowResource, run: ProbeRun) -> PreviousRun | None:
    """The latest finished run of the same set, version and target."""
    found = previous_probe_run(mlflow.store(), EXPERIMENT, run.set_name, run.version, run.target)
    if found is None or "passed" not in found.data.metrics:
        return None
    m = found.data.metrics
    return PreviousRun(int(m["passed"]), int(m["total"]), found.info.run_id)


def _track(handle: MlflowRun, outcome: SetOutcome) -> None:
    run = outcome.run
    handle.set_tags({"probe.set": run.set_name, "probe.version": run.version, "probe.target": run.target})
    handle.log_params(outcome.params())
    handle.log_metrics(outcome.metrics())
    handle.log_table(run.results, f"probe_results_{run.set_name}.json")


@dg.asset(
    name=ASSET,
    group_name="drift_quality",
    pool=WarehouseResource.POOL,
    check_specs=[
        dg.AssetCheckSpec(
            CHECK,
            asset=ASSET,
            description="Each golden set's pass rate has not dropped "
            "significantly (one-sided two-proportion test at probes.alpha) since the previous run.",
        )
    ],
)
def quality_probes(context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource):
    """Send the golden probe sets to the configured target and score the answers (pass rate, Wilson 95%, ROC-AUC)."""
    cfg = warehouse.settings()
    try:
        report = run_golden_sets(cfg.golden_path(), cfg.probes)
    except (ProbeSetError, EncoderUnavailable, ConfigError) as exc:
        raise dg.Failure(str(exc)) from None
    except TargetUnavailable as exc:
        raise dg.Failure(str(exc), metadata={"target": exc.url}) from None
    links = {}
    for run in report.runs:  # each compared with the runs logged before it (a set listed twice: with its first run)
        outcome = report.compare(run, previous_run(mlflow, run))
        with mlflow.asset_run(context, experiment=EXPERIMENT, name=f"{ASSET}/{run.set_name}") as handle:
            _track(handle, outcome)
            links[run.set_name] = handle.metadata()
    table, drops = dg.MetadataValue.md(report.markdown()), report.drops
    yield dg.MaterializeResult(
        metadata={
            "target": report.target,
            "sets": table,
            "pass_rate": report.pass_rate,
            "failures": dg.MetadataValue.json(report.failures()),
            **next(iter(links.values()), {}),
        }
    )
    yield dg.AssetCheckResult(
        check_name=CHECK,
        passed=not drops,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"significant_drops": dg.MetadataValue.json(drops), "alpha": report.alpha, "sets": table},
        description=f"pass rate dropped significantly: {', '.join(drops)}" if drops else None,
    )
