"""Each suite in expectations/ runs once per partition; critical failures block downstream assets, warnings do not."""

import datetime as dt
import json

import dagster as dg

from monitor_pipeline.defs.ingestion.assets import CLEAN_REQUESTS, ENGINE_WINDOWS, REQUEST_WINDOWS, RESOURCE_SAMPLES
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.validate.report import failed_labels, results_table
from monitor_pipeline.validate.run import failure_counts, outcome_metrics, outcome_rows, run_suite
from monitor_pipeline.validate.suites import ValidationOutcome, load_suite
from monitor_pipeline.warehouse.validation import partition_rows, record_outcomes

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
            "failed": len(failed),
            "failed_expectations": dg.MetadataValue.json(failed_labels(outcome, severity)),
            "results": dg.MetadataValue.md(results_table(outcome, severity)),
            **links,
        },
    )


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
        outcome = run_suite(suite, rows, day, total, cfg.validation.sample_rows)
        with warehouse.connect() as con:  # the history the validation_scorecard asset reads
            record_outcomes(con, outcome.suite, day, outcome_rows(asset, outcome))
        with mlflow.asset_run(context, experiment="validation", name=f"{asset}:{suite_name}") as run:
            run.log_params(
                {"suite": suite_name, "asset": asset, "partition": day.isoformat(), "sampled": outcome.sampled}
            )
            run.log_metrics(outcome_metrics(outcome))
            run.log_dict(outcome.to_dict(), f"{suite_name}_validation.json")
            links = run.metadata()
        context.log.info("suite %s on %s: %s", suite_name, day, json.dumps(failure_counts(outcome)))
        yield _result(asset, critical, outcome, "critical", links)
        yield _result(asset, warning, outcome, "warning", links)

    return _check


suite_checks = [build_suite_check(*s) for s in SUITES]
