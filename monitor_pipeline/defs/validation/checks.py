"""Each suite in expectations/ runs once per partition; critical failures block downstream assets, warnings do not."""

import datetime as dt
import json

import dagster as dg

from monitor_pipeline.defs.ingestion.assets import CLEAN_REQUESTS, ENGINE_WINDOWS, REQUEST_WINDOWS, RESOURCE_SAMPLES
from monitor_pipeline.resources.mlflow import MlflowResource, MlflowRun
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.tracking.urls import artifact_url
from monitor_pipeline.validate.report import failed_labels, results_table
from monitor_pipeline.validate.run import failure_counts, outcome_metrics, outcome_rows, run_suite
from monitor_pipeline.validate.suites import WHOLE_DAY_SUFFIX, ValidationOutcome, load_suite, whole_day_columns
from monitor_pipeline.warehouse.validation import day_columns, partition_rows, record_outcomes

# checked asset, suite (expectations/<suite>.json), warehouse table
SUITES: tuple[tuple[dg.AssetSpec, str, str], ...] = (
    (CLEAN_REQUESTS, "requests", "requests"),
    (REQUEST_WINDOWS, "request_windows", "request_windows"),
    (RESOURCE_SAMPLES, "resources", "resources"),
    (ENGINE_WINDOWS, "engine_windows", "engine_windows"),
)


def _result(asset: str, check: str, outcome: ValidationOutcome, severity: str, links: dict) -> dg.AssetCheckResult:
    """One severity's check result: passed when none of its expectations failed, the results table as metadata."""
    failed = outcome.failed(severity)
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=check,
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR if severity == "critical" else dg.AssetCheckSeverity.WARN,
        metadata={
            "suite": outcome.suite,
            "rows": outcome.rows,
            "validated_rows": outcome.validated_rows,
            "sampled": outcome.sampled,
            # Set-level expectations (uniqueness, row count, min/max...) ran on every row even when the rest sampled.
            "whole_day_expectations": sum(e.set_level for e in outcome.expectations),
            "failed": len(failed),
            "failed_expectations": dg.MetadataValue.json(failed_labels(outcome, severity)),
            "results": dg.MetadataValue.md(results_table(outcome, severity)),
            **links,
        },
    )


def _docs_links(run: MlflowRun, outcome: ValidationOutcome) -> dict[str, dg.MetadataValue]:
    """The GX Data Docs of the run: each result page in MLflow (a URL any machine opens), the local site's index."""
    if not outcome.data_docs:
        return {}
    index, *pages = outcome.data_docs
    links: dict[str, dg.MetadataValue] = {"data_docs_site": dg.MetadataValue.path(str(index))}
    for page in pages:
        key = "data_docs_whole_day" if page.stem.endswith(WHOLE_DAY_SUFFIX) else "data_docs"
        links[key] = dg.MetadataValue.url(artifact_url(run, f"data_docs/{page.name}"))
    return links


def build_suite_check(spec: dg.AssetSpec, suite_name: str, table: str) -> dg.AssetChecksDefinition:
    """The multi-check running expectations/<suite_name>.json on the asset of `spec` (stored in `table`) for one partition."""
    asset = spec.key.to_user_string()
    critical, warning = f"{suite_name}_critical_expectations", f"{suite_name}_warning_expectations"

    @dg.multi_asset_check(
        name=f"{suite_name}_suite",
        pool=WarehouseResource.POOL,
        specs=[
            dg.AssetCheckSpec(
                critical,
                asset=spec.key,
                blocking=True,
                description=f"Critical expectations of expectations/{suite_name}.json hold (blocks downstream).",
            ),
            dg.AssetCheckSpec(
                warning, asset=spec.key, description=f"Warning expectations of expectations/{suite_name}.json hold."
            ),
        ],
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource):
        """Run the suite on the partition's rows; keep the outcome for the scorecard and in MLflow."""
        day = dt.date.fromisoformat(context.partition_key)
        cfg = warehouse.settings()
        # Read at run time: editing the JSON is enough to add an expectation.
        suite = load_suite(cfg.expectations_path() / f"{suite_name}.json")
        with warehouse.connect(read_only=True) as con:
            rows, total = partition_rows(con, table, day, cfg.validation.sample_rows)
            # A sample cannot see most duplicates: the set-level expectations read their columns for every row.
            whole = day_columns(con, table, day, whole_day_columns(suite)) if total > len(rows) else None
        docs = cfg.data_path() / "data_docs" / day.isoformat() / suite_name
        outcome = run_suite(suite, rows, day, total, cfg.validation.sample_rows, whole_day=whole, docs_dir=docs)
        with warehouse.connect() as con:  # the history the validation_scorecard asset reads
            record_outcomes(con, outcome.suite, day, outcome_rows(asset, outcome))
        with mlflow.asset_run(context, experiment="validation", name=f"{asset}:{suite_name}") as run:
            run.log_params(
                {"suite": suite_name, "asset": asset, "partition": day.isoformat(), "sampled": outcome.sampled}
            )
            run.log_metrics(outcome_metrics(outcome))
            run.log_dict(outcome.to_dict(), f"{suite_name}_validation.json")
            for page in outcome.data_docs[1:]:  # the result pages; the site's static files stay in the local site
                run.log_artifact(page, "data_docs")
            links = {**run.metadata(), **_docs_links(run, outcome)}
        context.log.info("suite %s on %s: %s", suite_name, day, json.dumps(failure_counts(outcome)))
        yield _result(asset, critical, outcome, "critical", links)
        yield _result(asset, warning, outcome, "warning", links)

    return _check


suite_checks = [build_suite_check(*s) for s in SUITES]
