"""Each suite in expectations/ runs once per partition; critical failures block downstream assets, warnings do not."""

import datetime as dt
import json

import dagster as dg
import pandas as pd

from monitor_pipeline.escape import markdown_table
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.validate.history import record
from monitor_pipeline.validate.suites import ValidationOutcome, load_suite, validate

# asset -> (suite file, warehouse table, time column)
SUITES = {
    "clean_requests": ("requests", "requests", "timestamp"),
    "request_windows": ("request_windows", "request_windows", "window_start"),
    "resource_samples": ("resources", "resources", "timestamp"),
}


def _rows(warehouse: WarehouseResource, table: str, day: dt.date, sample_rows: int) -> tuple[pd.DataFrame, int]:
    """The partition's rows, a seeded reservoir sample of them when there are more than `sample_rows`."""
    with warehouse.connect(read_only=True) as con:
        total = con.execute(f"SELECT count(*) FROM {table} WHERE partition_date = ?", [day]).fetchone()[0]
        sample = f" USING SAMPLE reservoir({sample_rows} ROWS) REPEATABLE (7)" if total > sample_rows else ""
        df = con.execute(f"SELECT * FROM (SELECT * FROM {table} WHERE partition_date = ?){sample}", [day]).df()
    return df, total


def _table(outcome: ValidationOutcome, severity: str) -> str:
    rows = []
    for e in outcome.expectations:
        if e.severity == severity:
            pct = "" if e.unexpected_percent is None else f"{e.unexpected_percent:.3g}"
            sample = ", ".join(e.sample)[:80] or (e.error or "")[:80]  # unexpected values are data: escaped as cells
            rows.append([e.type, e.column or "", e.success, e.unexpected_count or 0, pct, sample])
    return markdown_table(["expectation", "column", "success", "unexpected", "%", "sample"], rows)


def _result(asset: str, check: str, outcome: ValidationOutcome, severity: str, links: dict) -> dg.AssetCheckResult:
    failed = outcome.failed(severity)
    return dg.AssetCheckResult(
        asset_key=asset, check_name=check, passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR if severity == "critical" else dg.AssetCheckSeverity.WARN,
        metadata={
            "suite": outcome.suite, "rows": outcome.rows, "validated_rows": outcome.validated_rows,
            "sampled": outcome.sampled, "failed": len(failed),
            "failed_expectations": dg.MetadataValue.json([f"{e.type}({e.column or ''})" for e in failed]),
            "results": dg.MetadataValue.md(_table(outcome, severity)), **links,
        })


def build_suite_check(asset: str) -> dg.AssetChecksDefinition:
    """The multi-check running expectations/<suite>.json on `asset` for one partition."""
    suite_name, table, time_col = SUITES[asset]
    critical, warning = f"{suite_name}_critical_expectations", f"{suite_name}_warning_expectations"

    @dg.multi_asset_check(
        name=f"{suite_name}_suite", pool=WarehouseResource.POOL,
        specs=[
            dg.AssetCheckSpec(critical, asset=asset, blocking=True,
                              description=f"Critical expectations of expectations/{suite_name}.json hold (blocks downstream)."),
            dg.AssetCheckSpec(warning, asset=asset,
                              description=f"Warning expectations of expectations/{suite_name}.json hold."),
        ],
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource):
        day = dt.date.fromisoformat(context.partition_key)
        cfg = warehouse.settings()
        # Read at run time: editing the JSON is enough to add an expectation.
        suite = load_suite(cfg.expectations_path() / f"{suite_name}.json")
        df, total = _rows(warehouse, table, day, cfg.validation.sample_rows)
        start = pd.Timestamp(day, tz="UTC")
        outcome = validate(df, suite, {"partition_start": start, "partition_end": start + pd.Timedelta(days=1)},
                           sample_rows=cfg.validation.sample_rows)
        outcome.rows = total
        with warehouse.connect() as con:  # the history the validation_scorecard asset reads
            record(con, asset, outcome, day)
        with mlflow.asset_run(context, experiment="validation", name=f"{asset}:{suite_name}") as run:
            run.log_params({"suite": suite_name, "asset": asset, "partition": day.isoformat(), "sampled": outcome.sampled})
            run.log_metrics({"rows": total, "validated_rows": outcome.validated_rows,
                             "failed_critical": len(outcome.failed("critical")),
                             "failed_warning": len(outcome.failed("warning")),
                             **{f"unexpected.{e.type}.{e.column or 'table'}": e.unexpected_count or 0
                                for e in outcome.expectations}})
            run.log_dict(outcome.to_dict(), f"{suite_name}_validation.json")
            links = run.metadata()
        context.log.info("suite %s on %s: %s", suite_name, day, json.dumps(
            {"critical_failed": len(outcome.failed("critical")), "warning_failed": len(outcome.failed("warning"))}))
        yield _result(asset, critical, outcome, "critical", links)
        yield _result(asset, warning, outcome, "warning", links)

    return _check


suite_checks = [build_suite_check(a) for a in SUITES]
