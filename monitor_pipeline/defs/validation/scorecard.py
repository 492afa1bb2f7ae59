"""validation_scorecard: the day's Great Expectations results per suite, against the days before."""

import datetime as dt

import dagster as dg

from monitor_pipeline.defs.partitions import daily_partitions
from monitor_pipeline.defs.validation.checks import SUITES
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.validate.report import scorecard_metrics, scorecard_table, suites_not_run
from monitor_pipeline.validate.scorecard import scorecard
from monitor_pipeline.warehouse.validation import outcome_history

ASSET = "validation_scorecard"
LOOKBACK_DAYS = 7


@dg.asset(
    name=ASSET,
    group_name="validation",
    partitions_def=daily_partitions,
    deps=[spec for spec, _, _ in SUITES],
    pool=WarehouseResource.POOL,
    description="One table per day of every expectation suite's outcome (run by the asset checks on clean_requests, "
    "request_windows and resource_samples), with the pass rate of the week before and what newly fails.",
)
def validation_scorecard(context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource):
    """The partition's suite outcomes, summed per suite and compared with the previous week."""
    day = dt.date.fromisoformat(context.partition_key)
    with warehouse.connect(read_only=True) as con:
        outcomes = outcome_history(con, day, LOOKBACK_DAYS)
    card = scorecard(outcomes, day)
    metrics = scorecard_metrics(card)
    with mlflow.asset_run(context, experiment="validation", name=f"{ASSET}:{day.isoformat()}") as run:
        run.log_params({"partition": day.isoformat(), "lookback_days": LOOKBACK_DAYS})
        run.log_metrics(metrics)
        run.log_table(card, "validation_scorecard.json")
        links = run.metadata()
    return dg.MaterializeResult(
        metadata={
            **metrics,
            "partition": day.isoformat(),
            "scorecard": dg.MetadataValue.md(scorecard_table(card)),
            # A suite with no stored outcome did not run for this day (its check was not selected, or errored).
            "suites_not_run": dg.MetadataValue.json(suites_not_run(card, [suite for _, suite, _ in SUITES])),
            **links,
        }
    )
