"""anomalies: every window of the partition scored by its one-step forecast residual under the champion model."""

import datetime as dt
import tempfile
from pathlib import Path

import dagster as dg

from monitor_pipeline.alerts.findings import FindingStore
from monitor_pipeline.defs.forecasting.forecast_champions import forecast_champions
from monitor_pipeline.defs.ingestion.assets import ENGINE_WINDOWS, REQUEST_WINDOWS, RESOURCE_WINDOWS
from monitor_pipeline.defs.partitions import daily_partitions
from monitor_pipeline.defs.tables import OWNERS, declared_metadata, stored_metadata
from monitor_pipeline.forecast.scoring import score_day, scoring_bounds
from monitor_pipeline.forecast.series import window_series
from monitor_pipeline.ingest.partition_plots import inline_markdown
from monitor_pipeline.plots import anomaly_plots
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.tracking.registry import load_champion
from monitor_pipeline.warehouse.forecasting import read_series, write_anomalies

ASSET = "anomalies"
CHECK = "no_critical_anomalies"
PLOTS = 4  # series drawn: the most flagged first (every one is in the warehouse table)


@dg.asset(
    name=ASSET,
    group_name="forecasting",
    partitions_def=daily_partitions,
    kinds={"duckdb", "table", "mlflow"},
    owners=OWNERS,
    metadata=declared_metadata("anomalies"),
    deps=[forecast_champions, REQUEST_WINDOWS, RESOURCE_WINDOWS, ENGINE_WINDOWS],
    pool=WarehouseResource.POOL,
    # Scored as soon as an ingestion run has updated today's windows, not at a clock offset after the ingestion
    # schedule (the automation sensor in defs/forecasting/jobs.py evaluates this); also after a retraining. Without
    # today's champions it still scores (seasonal-naive fallback), so a missing forecast_champions does not hold it.
    automation_condition=dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing()),
    check_specs=[
        dg.AssetCheckSpec(
            CHECK,
            asset=ASSET,
            description="No series has a critical anomaly (residual z ≥ z_critical or a "
            "static threshold breached) in this partition.",
        )
    ],
)
def anomalies(context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource):
    """Forecast-residual anomaly scores of each window of the day, grouped into events; events become findings."""
    cfg = warehouse.settings()
    forecasting, day = cfg.forecasting, dt.date.fromisoformat(context.partition_key)
    start, end = scoring_bounds(day, forecasting)
    with warehouse.connect(read_only=True) as con:
        series = window_series(read_series(con, forecasting, start, end), forecasting.window, start, end)
    client = mlflow.client()
    result = score_day(series, day, forecasting, lambda key: load_champion(client, key, context.partition_key))
    with warehouse.connect() as con:
        write_anomalies(con, result.anomalous, day)
        table = stored_metadata(con, "anomalies")
    with mlflow.asset_run(context) as run, tempfile.TemporaryDirectory() as tmp:
        run.log_params(result.params())
        run.log_metrics(result.metrics())
        if len(result.events):
            run.log_table(result.event_table(), "anomaly_events.json")
        plots = anomaly_plots(result.windows, Path(tmp), limit=PLOTS)
        for p in plots.values():
            run.log_artifact(p, "plots")
        links = run.metadata()
        # Inlined: the Dagster UI shows them on any machine, without the MLflow store or the run's files.
        plot_md = inline_markdown(plots) if plots else "(no series scored)"
    findings = result.findings(ASSET, context.partition_key, context.run.run_id, links["mlflow_run"].value)
    FindingStore(cfg.findings_path()).replace(ASSET, context.partition_key, findings)
    yield dg.MaterializeResult(
        metadata={
            "partition": day.isoformat(),
            "windows_scored": len(result.windows),
            "anomalous_windows": len(result.anomalous),
            "events": dg.MetadataValue.md(result.markdown()),
            "forecast_vs_actual": dg.MetadataValue.md(plot_md),
            "events_table": dg.MetadataValue.json(result.event_records()),
            "models": dg.MetadataValue.json(result.models),
            "skipped": dg.MetadataValue.json(result.skipped),
            **table,
            **links,
        }
    )
    yield dg.AssetCheckResult(
        check_name=CHECK,
        passed=len(result.critical) == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"critical_events": len(result.critical), "series": dg.MetadataValue.json(result.critical_series)},
    )
