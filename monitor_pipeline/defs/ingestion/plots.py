"""The partition's plots: PNGs attached to the materialization and logged to MLflow."""

import datetime as dt

import dagster as dg

from monitor_pipeline.defs.ingestion.assets import (
    ENGINE_WINDOWS,
    GROUP,
    OFFLINE_JOBS,
    REQUEST_WINDOWS,
    RESOURCE_WINDOWS,
)
from monitor_pipeline.defs.partitions import daily_partitions
from monitor_pipeline.ingest.partition_plots import draw_plots, inline_markdown
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.warehouse.ingestion import plot_frames


@dg.asset(
    group_name=GROUP,
    partitions_def=daily_partitions,
    pool=WarehouseResource.POOL,
    deps=[REQUEST_WINDOWS, OFFLINE_JOBS, RESOURCE_WINDOWS, ENGINE_WINDOWS],
)
def partition_plots(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource
) -> dg.MaterializeResult:
    """PNG plots of the day: requests per 5 minutes (online log), offline jobs by hour, latency/errors, GPU memory,
    and the serving engines' queue, KV cache and token latencies."""
    day = dt.date.fromisoformat(context.partition_key)
    out_dir = warehouse.settings().data_path() / "plots" / day.isoformat()
    with warehouse.connect(read_only=True) as con:
        frames = plot_frames(con, day)
    paths = draw_plots(frames, out_dir)
    with mlflow.asset_run(context) as run:
        run.log_params({"partition": day.isoformat()})
        run.log_metrics({"windows_5m": len(frames["request_windows"]), "offline_jobs": len(frames["offline_log"])})
        for p in paths.values():
            run.log_artifact(p, "plots")
        meta = run.metadata()
    # Inline the PNGs so the Dagster UI shows them without access to the data dir.
    return dg.MaterializeResult(
        metadata={
            **meta,
            "plots": dg.MetadataValue.md(inline_markdown(paths)),
            "plot_dir": dg.MetadataValue.path(str(out_dir)),
            **{name.removesuffix(".png"): dg.MetadataValue.path(str(p)) for name, p in paths.items()},
        }
    )
