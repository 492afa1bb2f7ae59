"""quality_report: classification metrics of labeled requests, output-distribution tests, the online-log accuracy."""

import datetime as dt

import dagster as dg
import pandas as pd

from monitor_pipeline.defs.drift_quality.reference import reference_days
from monitor_pipeline.defs.partitions import daily_partitions
from monitor_pipeline.drift_quality.quality import NoLabels, QualitySettings, evaluate, online_accuracy, output_tests
from monitor_pipeline.escape import markdown_table, mlflow_name, mlflow_name_tags
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.warehouse import WarehouseResource

ASSET = "quality_report"
FLOORS, OUTPUTS, ONLINE = "quality_metrics_above_floor", "output_distribution_stable", "online_accuracy_above_floor"
COLUMNS = ["timestamp", "model", "label", "prediction", "score", "status", "error_type"]


def _requests(warehouse: WarehouseResource, days: list[dt.date], rows: int, columns: list[str],
              labeled_only: bool) -> pd.DataFrame:
    """The days' requests (only those with a label and a prediction, or all), a seeded sample above `rows`."""
    with warehouse.connect(read_only=True) as con:
        present = {r[0] for r in con.execute("DESCRIBE requests").fetchall()}
        if labeled_only and not {"label", "prediction"} <= present:
            return pd.DataFrame(columns=list(dict.fromkeys(COLUMNS + columns)))
        cols = ", ".join(c if c in present else f"NULL AS {c}" for c in dict.fromkeys(COLUMNS + columns))
        marks = ", ".join("?" for _ in days)
        where = " AND label IS NOT NULL AND prediction IS NOT NULL" if labeled_only else ""
        return con.execute(f"SELECT * FROM (SELECT {cols} FROM requests WHERE partition_date IN ({marks}){where}) "
                           f"USING SAMPLE reservoir({rows} ROWS) REPEATABLE (13)", days).df()


def _online(warehouse: WarehouseResource, day: dt.date) -> pd.DataFrame:
    with warehouse.connect(read_only=True) as con:
        if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'online_log'").fetchone()[0]:
            return pd.DataFrame(columns=["timestamp", "request_num", "accuracy"])
        return con.execute("SELECT timestamp, request_num, accuracy FROM online_log WHERE partition_date = ? "
                           "ORDER BY timestamp", [day]).df()


def _md(rows: list[dict]) -> str:
    if not rows:
        return "(none)"
    keys = list(rows[0])
    return markdown_table(keys, [[f"{r[k]:.4g}" if isinstance(r[k], float) else r[k] for k in keys] for r in rows])


def _skip(check: str, reason: str, meta: dict) -> dg.AssetCheckResult:
    # Dagster has no "skipped" result a step can yield; a passing result that says so keeps the UI honest.
    return dg.AssetCheckResult(check_name=check, passed=True, metadata={**meta, "skipped": reason},
                               description=f"skipped: {reason}")


@dg.asset(
    name=ASSET, group_name="drift_quality", partitions_def=daily_partitions, deps=["clean_requests"], pool=WarehouseResource.POOL,
    check_specs=[
        dg.AssetCheckSpec(FLOORS, asset=ASSET, description="Accuracy, precision, recall, F1 and ROC-AUC (whole day and "
                          "per model) stay at or above quality.floors."),
        dg.AssetCheckSpec(OUTPUTS, asset=ASSET, description="Chi-square test of each categorical output (predicted "
                          "class, error type) against the reference window does not reject at quality.alpha."),
        dg.AssetCheckSpec(ONLINE, asset=ASSET, description="The seed's online.log accuracy stays at or above "
                          "quality.online_accuracy_floor every hour."),
    ],
)
def quality_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource):
    """Model quality of the day's labeled requests (Evidently classification preset) against the reference window."""
    cfg = warehouse.settings()
    q = cfg.quality
    day = dt.date.fromisoformat(context.partition_key)
    ref_days = reference_days(cfg, day)
    current = _requests(warehouse, [day], q.sample_rows, q.output_columns, labeled_only=True)
    reference = _requests(warehouse, ref_days, q.sample_rows, q.output_columns, labeled_only=True)
    current_all = _requests(warehouse, [day], q.sample_rows, q.output_columns, labeled_only=False)
    reference_all = _requests(warehouse, ref_days, q.sample_rows, q.output_columns, labeled_only=False)
    online = online_accuracy(_online(warehouse, day), q.online_accuracy_floor)
    settings = QualitySettings(floors=dict(q.floors), alpha=q.alpha, min_cramers_v=q.min_cramers_v, min_rows=q.min_rows)
    common = {"partition": day.isoformat(), "reference": ", ".join(x.isoformat() for x in ref_days),
              "current_rows_sampled": len(current_all), "reference_rows_sampled": len(reference_all),
              "current_labeled_sampled": len(current), "reference_labeled_sampled": len(reference)}
    try:
        result = evaluate(reference, current, settings, tuple(q.output_columns), reference_all, current_all)
    except NoLabels as exc:
        result, skipped = None, f"no labels: {exc}"
        tests = output_tests(reference_all, current_all, tuple(q.output_columns), settings)
        context.log.info("quality metrics skipped for %s: %s", day, skipped)
    if result:
        tests = result.tests
    rejected = [t.column for t in tests if t.rejected]
    with mlflow.asset_run(context) as run:
        run.log_params({**common, "alpha": q.alpha, "min_cramers_v": q.min_cramers_v,
                        **{f"floor.{k}": v for k, v in q.floors.items()}})
        metrics: dict[str, float] = {f"chi2_p.{t.column}": t.p_value for t in tests}
        metrics |= {f"cramers_v.{t.column}": t.cramers_v for t in tests}
        if result:
            metrics |= {k: v for k, v in result.overall.items()}
            # Model names are data: each becomes an MLflow-safe name, its original kept in a `name.<safe>` tag.
            metrics |= {f"{mlflow_name(m)}.{k}": v for m, vals in result.by_model.items() for k, v in vals.items()}
            run.set_tags(mlflow_name_tags(result.by_model))
            html = result.save_html(cfg.data_path() / "reports" / "quality" / f"{day.isoformat()}.html")
            run.log_artifact(html, "reports")
            run.log_table(result.windows.assign(window_start=result.windows["window_start"].astype(str)),
                          "quality_windows.json")
        if len(online["windows"]):
            metrics["online_accuracy_min_hourly"] = float(online["windows"]["accuracy_mean"].min())
            run.log_table(online["windows"].assign(window_start=online["windows"]["window_start"].astype(str)),
                          "online_accuracy.json")
        run.log_metrics(metrics)
        run.log_dict([t.__dict__ for t in tests], "output_tests.json")
        links = run.metadata()
    tests_md = _md([{"column": t.column, "chi2": t.chi2, "p_value": t.p_value, "dof": t.dof, "cramers_v": t.cramers_v,
                     "rejected": "yes" if t.rejected else ""} for t in tests])
    meta = {**common, **links, "output_tests": dg.MetadataValue.md(tests_md),
            "online_log_samples": online["samples"]}
    if result:
        per_model = [{"model": m, **{k: v for k, v in vals.items() if k != "rows"}, "rows": int(vals["rows"])}
                     for m, vals in {"(all)": result.overall, **result.by_model}.items()]
        meta |= {"labeled_rows": result.rows, "accuracy": result.overall["accuracy"], "f1": result.overall["f1"],
                 "roc_auc": result.overall["roc_auc"], "roc_auc_of": result.roc_auc_kind,
                 "by_model": dg.MetadataValue.md(_md(per_model)), "report": dg.MetadataValue.path(str(html))}
    else:
        meta["skipped"] = skipped
    yield dg.MaterializeResult(metadata=meta)

    if result:
        below = result.below_floor(dict(q.floors))
        yield dg.AssetCheckResult(check_name=FLOORS, passed=not below, severity=dg.AssetCheckSeverity.ERROR,
                                  metadata={"below_floor": dg.MetadataValue.json(below),
                                            "floors": dg.MetadataValue.json(dict(q.floors)), **links},
                                  description=None if not below else f"{len(below)} metric(s) under their floor")
    else:
        yield _skip(FLOORS, skipped, {"partition": day.isoformat()})
    if tests:
        yield dg.AssetCheckResult(check_name=OUTPUTS, passed=not rejected, severity=dg.AssetCheckSeverity.WARN,
                                  metadata={"rejected": dg.MetadataValue.json(rejected),
                                            "tests": dg.MetadataValue.md(tests_md), "alpha": q.alpha})
    else:
        yield _skip(OUTPUTS, "no reference window to test against" if len(current_all) else "no requests",
                    {"reference": common["reference"]})
    if online["samples"]:
        yield dg.AssetCheckResult(check_name=ONLINE, passed=not online["below_floor"], severity=dg.AssetCheckSeverity.WARN,
                                  metadata={"below_floor": dg.MetadataValue.json(online["below_floor"]),
                                            "floor": q.online_accuracy_floor, "samples": online["samples"]})
    else:
        yield _skip(ONLINE, "no online.log samples for this day", {"partition": day.isoformat()})
