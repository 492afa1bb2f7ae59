"""The partition's plots: PNGs attached to the materialization and logged to MLflow."""

import base64
import datetime as dt

import dagster as dg

from monitor_pipeline.defs.partitions import daily_partitions
from monitor_pipeline.plots import gpu_memory_plot, latency_errors_plot, offline_jobs_plot, online_requests_plot
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.warehouse import WarehouseResource

PLOTS = {
    "online_requests.png": online_requests_plot,
    "offline_jobs.png": offline_jobs_plot,
    "latency_errors.png": latency_errors_plot,
    "gpu_memory.png": gpu_memory_plot,
}


def _frames(warehouse: WarehouseResource, day: dt.date) -> dict:
    with warehouse.connect(read_only=True) as con:
        q = "SELECT * FROM {t} WHERE partition_date = ? {w} ORDER BY {o}"
        rw = con.execute(q.format(t="request_windows", w="AND window_size = '5m'", o="window_start"), [day]).df()
        off = con.execute(q.format(t="offline_log", w="", o="timestamp"), [day]).df()
        res = con.execute(q.format(t="resource_windows", w="AND window_size = '5m'", o="window_start"), [day]).df()
    return {"online_requests.png": rw, "offline_jobs.png": off, "latency_errors.png": rw, "gpu_memory.png": res}


@dg.asset(
    group_name="ingestion", partitions_def=daily_partitions, pool=WarehouseResource.POOL,
    deps=["request_windows", "offline_jobs", "resource_windows"],
)
def partition_plots(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                    mlflow: MlflowResource) -> dg.MaterializeResult:
    """PNG plots of the day: requests per 5 minutes (online log), offline jobs by hour, latency/errors, GPU memory."""
    day = dt.date.fromisoformat(context.partition_key)
    out_dir = warehouse.settings().data_path() / "plots" / day.isoformat()
    frames = _frames(warehouse, day)
    paths = {name: fn(frames[name], out_dir / name) for name, fn in PLOTS.items()}
    with mlflow.asset_run(context) as run:
        run.log_params({"partition": day.isoformat()})
        run.log_metrics({"windows_5m": len(frames["online_requests.png"]), "offline_jobs": len(frames["offline_jobs.png"])})
        for p in paths.values():
            run.log_artifact(p, "plots")
        meta = run.metadata()
    # Inline the PNGs so the Dagster UI shows them without access to the data dir.
    md = "\n\n".join(f"**{name}**\n\n![{name}](data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()})"
                     for name, p in paths.items())
    return dg.MaterializeResult(metadata={
        **meta, "plots": dg.MetadataValue.md(md), "plot_dir": dg.MetadataValue.path(str(out_dir)),
        **{name.removesuffix(".png"): dg.MetadataValue.path(str(p)) for name, p in paths.items()},
    })
