"""validation_scorecard: the day's Great Expectations results per suite, against the days before."""

import datetime as dt

import dagster as dg

from monitor_pipeline.defs.partitions import daily_partitions
from monitor_pipeline.defs.validation.checks import SUITES
from monitor_pipeline.escape import markdown_table
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.validate.history import history, scorecard

ASSET = "validation_scorecard"
LOOKBACK_DAYS = 7


def _md(card) -> str:
    rows = []
    for r in card.itertuples(index=False):
        before = "" if r.pass_rate_before != r.pass_rate_before else f"{r.pass_rate_before:.0%}"  # NaN: no history
        rows.append([r.suite, r.asset, r.rows, r.expectations, r.failed_critical, r.failed_warning, f"{r.pass_rate:.0%}",
                     before, r.newly_failing])
    return markdown_table(["suite", "asset", "rows", "expectations", "failed critical", "failed warning", "pass rate",
                           "before", "newly failing"], rows)


@dg.asset(
    name=ASSET, group_name="validation", partitions_def=daily_partitions, deps=list(SUITES), pool=WarehouseResource.POOL,
    description="One table per day of every expectation suite's outcome (run by the asset checks on clean_requests, "
                "request_windows and resource_samples), with the pass rate of the week before and what newly fails.",
)
def validation_scorecard(context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource):
    """The partition's suite outcomes, summed per suite and compared with the previous week."""
    day = dt.date.fromisoformat(context.partition_key)
    with warehouse.connect(read_only=True) as con:
        outcomes = history(con, day, LOOKBACK_DAYS)
    card = scorecard(outcomes, day)
    missing = sorted({s for s, _, _ in SUITES.values()} - set(card["suite"]))
    metrics = {"suites": len(card), "failed_critical": int(card["failed_critical"].sum()),
               "failed_warning": int(card["failed_warning"].sum()),
               "pass_rate": float(card["pass_rate"].mean()) if len(card) else 0.0}
    with mlflow.asset_run(context, experiment="validation", name=f"{ASSET}:{day.isoformat()}") as run:
        run.log_params({"partition": day.isoformat(), "lookback_days": LOOKBACK_DAYS})
        run.log_metrics(metrics)
        run.log_table(card, "validation_scorecard.json")
        links = run.metadata()
    return dg.MaterializeResult(metadata={
        **metrics, "partition": day.isoformat(), "scorecard": dg.MetadataValue.md(_md(card)),
        # A suite with no stored outcome did not run for this day (its check was not selected, or errored).
        "suites_not_run": dg.MetadataValue.json(missing), **links})
