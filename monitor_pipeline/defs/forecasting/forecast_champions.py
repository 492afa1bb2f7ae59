"""forecast_champions: per configured series, every model backtested on the days before the partition; the best registered."""

import datetime as dt
import tempfile

import dagster as dg

from monitor_pipeline.defs.forecasting.windows import REQUEST_WINDOWS, RESOURCE_WINDOWS
from monitor_pipeline.defs.partitions import daily_partitions
from monitor_pipeline.forecast.champions import ModelBacktest, history_bounds, select_champions
from monitor_pipeline.forecast.series import window_series
from monitor_pipeline.resources.mlflow import MlflowResource, MlflowRun
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.tracking.registry import register_champion
from monitor_pipeline.warehouse.forecasting import read_series, write_backtests

ASSET = "forecast_champions"


def _track(run: MlflowRun, bt: ModelBacktest, context: dg.AssetExecutionContext) -> dict | None:
    """Log one model's backtest into its run; register it when it is the champion and return what the metadata shows."""
    run.set_tags(bt.tags)
    run.log_params(bt.params)
    run.log_metrics(bt.metrics)
    for step, losses in bt.epochs:
        run.log_metrics(losses, step=step)
    with tempfile.TemporaryDirectory() as tmp:
        run.log_artifact(bt.plot(tmp), "plots")
    if not bt.champion:
        return None
    version = register_champion(
        run.client, run.run_id, bt.forecaster, bt.series, context.partition_key, {"dagster.run_id": context.run.run_id}
    )
    return {"model": bt.model, "version": version, "mase": round(bt.result.mase, 4), "mlflow_run_id": run.run_id}


@dg.asset(
    name=ASSET,
    group_name="forecasting",
    partitions_def=daily_partitions,
    deps=[REQUEST_WINDOWS, RESOURCE_WINDOWS],
    pool=WarehouseResource.POOL,
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
    for bt in result.backtests:
        with mlflow.asset_run(context, experiment=f"forecast/{bt.series}", name=f"{ASSET}/{bt.model}") as run:
            if (champion := _track(run, bt, context)) is not None:
                champions[bt.series] = champion
    with warehouse.connect() as con:
        write_backtests(con, result.table(), day)
    meta = {
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
