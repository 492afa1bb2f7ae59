"""resource_forecast: each GPU's memory (and utilisation), and each serving engine's KV cache and queue, forecast at
origins through the day; time to threshold."""

import datetime as dt
import tempfile
from pathlib import Path

import dagster as dg
import pandas as pd

from monitor_pipeline.alerts.findings import FindingStore
from monitor_pipeline.defs.forecasting.windows import ENGINE_WINDOWS, RESOURCE_WINDOWS
from monitor_pipeline.defs.partitions import daily_partitions
from monitor_pipeline.defs.tables import OWNERS, declared_metadata, stored_metadata
from monitor_pipeline.forecast.capacity import (
    CapacityResult,
    capacity_bounds,
    combined_forecasts,
    engine_target,
    forecast_capacity,
    gpu_target,
)
from monitor_pipeline.ingest.partition_plots import inline_markdown
from monitor_pipeline.plots import capacity_plot
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.warehouse.forecasting import read_engine_windows, read_gpu_windows, write_resource_forecasts

ASSET = "resource_forecast"
CHECK = "no_resource_exhaustion_predicted"
CROSSING_PLOTS = 4  # forecast-at-origin plots inlined (every crossing is a finding and a warehouse row)


def _overview(result: CapacityResult, what: str, path: Path) -> Path:
    """Every device's metrics over the day against their thresholds, the origins predicting a crossing marked."""
    f = result.forecasts
    flagged = f[f["crossing_at"].notna()] if len(f) else pd.DataFrame(columns=["host", "device", "metric", "origin"])
    thresholds = (result.target or gpu_target(result.config)).thresholds
    return capacity_plot(result.windows, thresholds, flagged, f"{what} on {result.day}", path)


@dg.asset(
    name=ASSET,
    group_name="forecasting",
    partitions_def=daily_partitions,
    kinds={"duckdb", "table", "mlflow"},
    owners=OWNERS,
    metadata=declared_metadata("resource_forecasts"),
    deps=[RESOURCE_WINDOWS, ENGINE_WINDOWS],
    automation_condition=dg.AutomationCondition.eager(),  # after each ingestion run's new windows
    pool=WarehouseResource.POOL,
    check_specs=[
        dg.AssetCheckSpec(
            CHECK,
            asset=ASSET,
            description="No GPU is predicted to cross its memory (or utilisation) threshold, and no serving engine "
            "its KV-cache or queue threshold, within the horizon.",
        )
    ],
)
def resource_forecast(context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource):
    """Per GPU: linear / random forest / gradient boosting backtested at origins through the day; time to threshold.
    Per serving engine and model: the KV cache and the queue, a line fit at every window (they fill in minutes)."""
    cfg = warehouse.settings()
    rc, day = cfg.resource_forecast, dt.date.fromisoformat(context.partition_key)
    engine = engine_target(rc)
    with warehouse.connect(read_only=True) as con:
        gpus = read_gpu_windows(con, *capacity_bounds(day, rc.lookback_minutes))
        engines = read_engine_windows(con, *capacity_bounds(day, rc.engine.lookback_minutes))
    gpu, eng = forecast_capacity(gpus, day, rc), forecast_capacity(engines, day, rc, engine)
    forecasts = combined_forecasts(gpu, eng)
    with warehouse.connect() as con:
        write_resource_forecasts(con, forecasts, day)
        table = stored_metadata(con, "resource_forecasts")
    with mlflow.asset_run(context) as run, tempfile.TemporaryDirectory() as tmp:
        run.log_params({**gpu.params(), **{f"engine_{k}": v for k, v in rc.engine.model_dump().items()}})
        links = run.metadata()
        url = links["mlflow_run"].value
        findings = gpu.findings(ASSET, context.partition_key, context.run.run_id, url) + eng.findings(
            ASSET, context.partition_key, context.run.run_id, url
        )
        plots = {
            "gpus.png": _overview(gpu, "GPUs", Path(tmp) / "gpus.png"),
            **({"engines.png": _overview(eng, "serving engines", Path(tmp) / "engines.png")} if eng.summary else {}),
        }
        for crossing in (gpu.crossings + eng.crossings)[:CROSSING_PLOTS]:
            p = crossing.plot(tmp)
            plots[p.name] = p
        for p in plots.values():
            run.log_artifact(p, "plots")
        # Inlined: the Dagster UI shows them on any machine, without the MLflow store or the run's files.
        plot_md = inline_markdown(plots)
        run.log_metrics({**gpu.metrics(), **{f"engine_{k}": v for k, v in eng.metrics().items()}})
        if len(forecasts):
            run.log_table(forecasts.astype({"origin": str, "crossing_at": str}), "resource_forecasts.json")
    FindingStore(cfg.findings_path()).replace(ASSET, context.partition_key, findings)
    meta = {
        "partition": day.isoformat(),
        "devices": gpu.devices,
        "engines": eng.devices,
        "forecasts": len(forecasts),
        "crossings": len(findings),
        "forecast": dg.MetadataValue.md(gpu.markdown()),
        "engine_forecast": dg.MetadataValue.md(eng.markdown() if eng.summary else "(no serving-engine windows)"),
        "findings": dg.MetadataValue.json([f.title for f in findings]),
        "forecast_vs_actual": dg.MetadataValue.md(plot_md),
        **table,
        **links,
    }
    if gpu.nothing_to_forecast:
        meta["skipped"] = gpu.nothing_to_forecast
    if eng.nothing_to_forecast:
        meta["engine_skipped"] = eng.nothing_to_forecast
    yield dg.MaterializeResult(metadata=meta)
    yield dg.AssetCheckResult(
        check_name=CHECK,
        passed=not findings,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"crossings": len(findings), "entities": dg.MetadataValue.json(sorted({f.entity for f in findings}))},
    )
