"""forecast_champions: per configured series, every model backtested on the days before the partition; the best registered."""

import datetime as dt
import tempfile

import dagster as dg

from monitor_pipeline.defs.forecasting.windows import REQUEST_WINDOWS, RESOURCE_WINDOWS
from monitor_pipeline.defs.partitions import daily_partitions
from monitor_pipeline.defs.tables import OWNERS, declared_metadata, stored_metadata
from monitor_pipeline.forecast.champions import ModelBacktest, history_bounds, select_champions
from monitor_pipeline.forecast.promotion import compare
from monitor_pipeline.forecast.series import window_series
from monitor_pipeline.resources.mlflow import MlflowResource, MlflowRun
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.tracking.registry import champion_in_force, log_candidate, promote
from monitor_pipeline.warehouse.forecasting import read_series, write_backtests

ASSET = "forecast_champions"


def _track(run: MlflowRun, bt: ModelBacktest, window: str, context: dg.AssetExecutionContext) -> dict | None:
    """Log one candidate's backtest and pyfunc model into its run; for the series' best, the champion-vs-challenger
    comparison and the promotion. Returns what the metadata shows of the series' champion (best model only)."""
    run.set_tags(bt.tags)
    run.log_params(bt.params)
    run.log_metrics(bt.metrics)
    for step, losses in bt.epochs:
        run.log_metrics(losses, step=step)
    with tempfile.TemporaryDirectory() as tmp:
        run.log_artifact(bt.plot(tmp), "plots")
    partition = context.partition_key
    logged = log_candidate(
        run.client,
        run.run_id,
        bt.forecaster,
        bt.y,
        series_key=bt.series,
        window=window,
        horizon=bt.horizon,
        partition=partition,
        tags={"dagster.run_id": context.run.run_id},
    )
    if not bt.champion:
        return None
    incumbent = champion_in_force(run.client, bt.series)
    comparison = compare(bt, incumbent, partition)
    run.log_metrics(comparison.metrics())
    run.set_tags(comparison.tags())
    run.log_table(comparison.table(), "champion_vs_challenger.json")
    kept = incumbent is not None and not comparison.promote
    version = incumbent.version if kept and incumbent is not None else logged["version"]
    promote(run.client, bt.series, logged["version"], partition, version, comparison.move_alias)
    return {
        "model": comparison.champion["model"] if kept and comparison.champion else bt.model,
        "version": version,
        "challenger_version": logged["version"],
        "decision": comparison.decision,
        "mase": round(bt.result.mase, 4),
        "mlflow_run_id": run.run_id,
    }


@dg.asset(
    name=ASSET,
    group_name="forecasting",
    partitions_def=daily_partitions,
    deps=[REQUEST_WINDOWS, RESOURCE_WINDOWS],
    pool=WarehouseResource.POOL,
    kinds={"pytorch", "mlflow", "table"},
    owners=OWNERS,
    metadata=declared_metadata("forecast_backtests"),
)
def forecast_champions(context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource):
    """LSTM, GRU, ARIMA and seasonal-naive backtested per series on the days before the partition; the best is champion."""
    forecasting = warehouse.settings().forecasting
    day = dt.date.fromisoformat(context.partition_key)
    start, end = history_bounds(day, forecasting.history_days)
    with warehouse.connect(read_only=True) as con:
        series = window_series(read_series(con, forecasting, start, end), forecasting.window, start, end)
    result = select_champions(series, forecasting, start, end)
    for key, models in result.skipped.items():
        for name, why in models.items():
            context.log.info("%s: %s skipped: %s", key, name, why)
    champions = {}
    for bt in result.backtests:  # one experiment for the asset; the series is a tag (and in the run name)
        with mlflow.asset_run(context, experiment=ASSET, name=f"{ASSET}/{bt.model}/{bt.series}") as run:
            if (champion := _track(run, bt, forecasting.window, context)) is not None:
                champions[bt.series] = champion
    with warehouse.connect() as con:
        write_backtests(con, result.table(), day)
        stored = stored_metadata(con, "forecast_backtests")
    meta = {
        **stored,
        "partition": day.isoformat(),
        "series": result.series,
        "mlflow_runs": len(result.backtests),
        "champions": dg.MetadataValue.json(champions),
        "history": result.history,
    }
    if result.nothing_to_train:
        meta["skipped"] = result.nothing_to_train
    elif result.rows:
        meta["backtest"] = dg.MetadataValue.md(result.markdown())
    return dg.MaterializeResult(metadata=meta)
