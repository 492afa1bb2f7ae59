"""resource_forecast: each GPU's memory (and utilisation) forecast at origins through the day; time to threshold."""

import datetime as dt
import tempfile

import dagster as dg

from monitor_pipeline.alerts.findings import FindingStore
from monitor_pipeline.defs.forecasting.windows import RESOURCE_WINDOWS
from monitor_pipeline.defs.partitions import daily_partitions
from monitor_pipeline.forecast.capacity import capacity_bounds, forecast_capacity
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.warehouse.forecasting import read_gpu_windows, write_resource_forecasts

ASSET = "resource_forecast"
CHECK = "no_resource_exhaustion_predicted"


@dg.asset(
    name=ASSET,
    group_name="forecasting",
    partitions_def=daily_partitions,
    deps=[RESOURCE_WINDOWS],
    pool=WarehouseResource.POOL,
    check_specs=[
        dg.AssetCheckSpec(
            CHECK,
            asset=ASSET,
            description="No GPU is predicted to cross its memory (or utilisation) threshold within the horizon.",
        )
    ],
)
def resource_forecast(context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource):
    """Per GPU: linear / random forest / gradient boosting backtested at origins through the day; time to threshold."""
    cfg = warehouse.settings()
    rc, day = cfg.resource_forecast, dt.date.fromisoformat(context.partition_key)
    with warehouse.connect(read_only=True) as con:
        windows = read_gpu_windows(con, *capacity_bounds(day, rc))
    result = forecast_capacity(windows, day, rc)
    with warehouse.connect() as con:
        write_resource_forecasts(con, result.forecasts, day)
    with mlflow.asset_run(context) as run, tempfile.TemporaryDirectory() as tmp:
        run.log_params(result.params())
        links = run.metadata()
        findings = result.findings(ASSET, context.partition_key, context.run.run_id, links["mlflow_run"].value)
        for crossing in result.crossings:
            run.log_artifact(crossing.plot(tmp), "plots")
        run.log_metrics(result.metrics())
        if len(result.forecasts):
            run.log_table(result.forecast_table(), "resource_forecasts.json")
    FindingStore(cfg.findings_path()).replace(ASSET, context.partition_key, findings)
    meta = {
        "partition": day.isoformat(),
        "devices": result.devices,
        "forecasts": len(result.forecasts),
        "crossings": len(findings),
        "forecast": dg.MetadataValue.md(result.markdown()),
        "findings": dg.MetadataValue.json([f.title for f in findings]),
        **links,
    }
    if result.nothing_to_forecast:
        meta["skipped"] = result.nothing_to_forecast
    yield dg.MaterializeResult(metadata=meta)
    yield dg.AssetCheckResult(
        check_name=CHECK,
        passed=not findings,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"crossings": len(findings), "entities": dg.MetadataValue.json(sorted({f.entity for f in findings}))},
    )
