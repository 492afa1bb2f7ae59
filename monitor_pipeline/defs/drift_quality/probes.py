"""quality_probes: golden probe sets sent to a live target, scored, and compared with the previous run in MLflow."""

import os

import dagster as dg

from monitor_pipeline.drift_quality.embeddings import EncoderUnavailable
from monitor_pipeline.drift_quality.probes.endpoints import LocalIntentTarget, OpenAITarget, TargetUnavailable
from monitor_pipeline.drift_quality.probes.runner import ProbeRun, run_probes
from monitor_pipeline.drift_quality.probes.sets import ProbeSetError, load_probe_set
from monitor_pipeline.drift_quality.probes.stats import Comparison, compare
from monitor_pipeline.errors import ConfigError
from monitor_pipeline.escape import markdown_table
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.settings import ProbeTargetConfig

ASSET, CHECK, EXPERIMENT = "quality_probes", "golden_pass_rate_no_significant_drop", "quality_probes"


def build_target(t: ProbeTargetConfig, env: dict[str, str] | None = None) -> LocalIntentTarget | OpenAITarget:
    """The configured target; the API key is read from the named env var and kept out of every message."""
    if t.kind == "local":
        return LocalIntentTarget()
    if not t.base_url or not t.model:
        raise ConfigError("probes.target: kind openai needs base_url and model")
    key = (env if env is not None else os.environ).get(t.api_key_env) or None
    return OpenAITarget(t.base_url, t.model, key, timeout_s=t.timeout_s, retries=t.retries, concurrency=t.concurrency)


def previous_run(mlflow: MlflowResource, run: ProbeRun) -> tuple[int, int, str] | None:
    """(passed, total, run id) of the latest finished run of the same set, version and target."""
    client = mlflow.client()
    exp = client.get_experiment_by_name(f"{mlflow.experiment_prefix}/{EXPERIMENT}")
    if exp is None:
        return None
    found = client.search_runs(
        [exp.experiment_id],
        f"tags.`probe.set` = '{run.set_name}' and tags.`probe.version` = '{run.version}' and "
        f"tags.`probe.target` = '{run.target}' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"], max_results=1)
    if not found or "passed" not in found[0].data.metrics:
        return None
    m = found[0].data.metrics
    return int(m["passed"]), int(m["total"]), found[0].info.run_id


def _md(rows: list[dict]) -> str:
    keys = list(rows[0])
    return markdown_table(keys, [[r[k] for k in keys] for r in rows])


@dg.asset(
    name=ASSET, group_name="drift_quality", pool=WarehouseResource.POOL,
    check_specs=[dg.AssetCheckSpec(CHECK, asset=ASSET, description="Each golden set's pass rate has not dropped "
                                   "significantly (one-sided two-proportion test at probes.alpha) since the previous run.")],
)
def quality_probes(context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource):
    """Send the golden probe sets to the configured target and score the answers (pass rate, Wilson 95%, ROC-AUC)."""
    cfg = warehouse.settings()
    p = cfg.probes
    try:
        sets = [load_probe_set(cfg.golden_path(), s) for s in p.sets]
        target = build_target(p.target)
        # Every set is answered before anything is logged: a target that is down leaves earlier results intact.
        runs = [run_probes(s, target, p.min_similarity) for s in sets]
    except (ProbeSetError, EncoderUnavailable, ConfigError) as exc:
        raise dg.Failure(str(exc)) from None
    except TargetUnavailable as exc:
        raise dg.Failure(str(exc), metadata={"target": target.url}) from None
    rows, drops, links = [], [], {}
    for run in runs:
        prev = previous_run(mlflow, run)
        cmp: Comparison | None = compare(run.passed, run.total, prev[0], prev[1], p.alpha) if prev else None
        with mlflow.asset_run(context, experiment=EXPERIMENT, name=f"{ASSET}/{run.set_name}") as handle:
            handle.set_tags({"probe.set": run.set_name, "probe.version": run.version, "probe.target": run.target})
            handle.log_params({"set": run.set_name, "version": run.version, "target": run.target, "alpha": p.alpha,
                               "previous_run": prev[2] if prev else "none"})
            metrics = {"pass_rate": run.pass_rate, "passed": run.passed, "total": run.total,
                       "wilson_low": run.wilson_low, "wilson_high": run.wilson_high,
                       "latency_ms_p50": float(run.results["latency_ms"].median())}
            if run.roc_auc is not None:
                metrics["roc_auc"] = run.roc_auc
            if cmp:
                metrics |= {"previous_pass_rate": cmp.previous_rate, "p_value_vs_previous": cmp.p_value}
            handle.log_metrics(metrics)
            handle.log_table(run.results, f"probe_results_{run.set_name}.json")
            links[run.set_name] = handle.metadata()
        s = run.summary()
        rows.append({"set": f"{run.set_name}@{run.version}", "pass_rate": s["pass_rate"], "passed": f"{run.passed}/{run.total}",
                     "wilson_95": f"[{s['wilson_95'][0]}, {s['wilson_95'][1]}]", "roc_auc": s["roc_auc"],
                     "previous": "none" if not cmp else round(cmp.previous_rate, 4),
                     "p_drop": "" if not cmp else f"{cmp.p_value:.3g}",
                     "significant_drop": "yes" if cmp and cmp.significant_drop else ""})
        if cmp and cmp.significant_drop:
            drops.append(run.set_name)
    first = next(iter(links.values()), {})
    yield dg.MaterializeResult(metadata={
        "target": target.url, "sets": dg.MetadataValue.md(_md(rows)),
        "pass_rate": runs[0].pass_rate if runs else 0.0,
        "failures": dg.MetadataValue.json({r.set_name: r.results[~r.results["passed"]][["id", "expected", "answer"]]
                                           .head(20).to_dict("records") for r in runs}),
        **first})
    yield dg.AssetCheckResult(check_name=CHECK, passed=not drops, severity=dg.AssetCheckSeverity.ERROR,
                              metadata={"significant_drops": dg.MetadataValue.json(drops), "alpha": p.alpha,
                                        "sets": dg.MetadataValue.md(_md(rows))},
                              description=f"pass rate dropped significantly: {', '.join(drops)}" if drops else None)
