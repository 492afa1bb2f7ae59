"""resource_forecast: each GPU's memory (and utilisation) forecast at origins through the day; time to threshold."""


import datetime as dt
import tempfile
from pathlib import Path

import dagster as dg
import pandas as pd

from monitor_pipeline.defs.forecasting.forecaster import day_bounds
from monitor_pipeline.defs.partitions import daily_partitions
from monitor_pipeline.escape import markdown_table
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.warehouse import WarehouseResource

ASSET = "resource_forecast"
CHECK = "no_resource_exhaustion_predicted"
RULE = "resource.time_to_threshold"
LABEL = {"gpu_memory": "GPU memory", "gpu_util": "GPU utilisation"}
SCALE = {"gpu_memory": 100.0, "gpu_util": 1.0}  # to percentage points

_QUERY = """
SELECT window_start, host, device, gpu_mem_used_mb_mean / nullif(gpu_mem_total_mb_mean, 0) AS gpu_memory,
       gpu_util_pct_mean AS gpu_util
FROM resource_windows
WHERE window_size = '5m' AND device LIKE 'gpu%' AND window_start >= ? AND window_start < ?
ORDER BY host, device, window_start
"""


def _load(warehouse: WarehouseResource, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    """The GPUs' 5-minute windows of [start, end) (empty when resource_windows does not exist yet)."""
    with warehouse.connect(read_only=True) as con:
        if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'resource_windows'").fetchone()[0]:
            return pd.DataFrame(columns=["window_start", "host", "device", "gpu_memory", "gpu_util"])
        df = con.execute(_QUERY, [start, end]).df()
    df["window_start"] = pd.to_datetime(df["window_start"], utc=True)
    return df


def _fmt(metric: str, v: float | None) -> str:
    if v is None or pd.isna(v):
        return ""
    return f"{v:.1%}" if metric == "gpu_memory" else f"{v:.1f}%"


def _markdown(rows: list[dict]) -> str:
    return markdown_table(
        ["device", "metric", "model (now)", "current", "predicted at horizon", "minutes to threshold", "events", "note"],
        [[r["device"], r["metric"], r["model"] or "", _fmt(r["metric"], r["current"]), _fmt(r["metric"], r["predicted"]),
          "" if r["minutes"] is None else f"{r['minutes']:.0f}", r["events"], r["note"] or ""] for r in rows])


def _table(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The warehouse rows with fixed column types (an all-None column would otherwise have none)."""
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if df.empty:
        return df
    for c in ("origin", "crossing_at"):
        df[c] = pd.to_datetime(df[c], utc=True)
    for c in ("host", "device", "metric", "model", "skipped"):
        df[c] = df[c].astype("string")
    num = [c for c in df.columns if c.startswith("mae_")] + ["current", "threshold", "predicted_at_horizon",
                                                            "minutes_to_threshold"]
    return df.astype({c: "float64" for c in num})


@dg.asset(name=ASSET, group_name="forecasting", partitions_def=daily_partitions, deps=["resource_windows"],
          pool=WarehouseResource.POOL,
          check_specs=[dg.AssetCheckSpec(CHECK, asset=ASSET, description="No GPU is predicted to cross its memory "
                                                                         "(or utilisation) threshold within the horizon.")])
def resource_forecast(context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource):
    """Per GPU: linear / random forest / gradient boosting backtested at origins through the day; time to threshold."""
    from monitor_pipeline.alerts.findings import Finding, FindingStore
    from monitor_pipeline.forecast.capacity import ResourceForecastSettings, episodes, forecast_day, on_grid
    from monitor_pipeline.plots import resource_forecast_plot
    from monitor_pipeline.warehouse.tables import replace_partition

    cfg = warehouse.settings()
    rc = cfg.resource_forecast
    settings = ResourceForecastSettings(rc.lookback_minutes, rc.horizon_minutes, rc.every_minutes, tuple(rc.models),
                                        trend_confidence=rc.trend_confidence)
    day = dt.date.fromisoformat(context.partition_key)
    start, end = day_bounds(day)
    # From a day before the lookback: the same hours of the day before tell a daily cycle's rise from a leak.
    windows = _load(warehouse, start - dt.timedelta(days=1, minutes=rc.lookback_minutes), end)
    thresholds = {"gpu_memory": rc.memory_threshold, "gpu_util": rc.util_threshold_pct}
    frames, summary, events = [], [], []
    for (host, device), g in windows.groupby(["host", "device"], sort=True):
        for metric, threshold in thresholds.items():
            series = g.set_index("window_start")[metric].astype(float)
            # A metric without a threshold has nothing to alert on: forecast it once, from the latest window.
            fcs = forecast_day(series, start, end, metric, threshold, settings, latest_only=threshold is None)
            frames.append(pd.DataFrame([{"host": host, "device": device, **f.row()} for f in fcs]))
            eps = episodes(fcs)
            events += [(host, device, metric, ep, on_grid(series, start, end)) for ep in eps]
            now = fcs[-1] if fcs else None
            summary.append({"device": f"{host}/{device}", "metric": metric, "model": now and now.model,
                            "current": now and now.current, "predicted": now and now.predicted_at_horizon,
                            "minutes": now and now.minutes_to_threshold, "events": len(eps),
                            "note": now.skipped if now else "no windows with data in this partition"})
    table = _table(frames)
    with warehouse.connect() as con:
        replace_partition(con, "resource_forecasts", table, day)
    findings = []
    with mlflow.asset_run(context) as run, tempfile.TemporaryDirectory() as tmp:
        run.log_params({"partition": day.isoformat(), "lookback_minutes": rc.lookback_minutes,
                        "horizon_minutes": rc.horizon_minutes, "every_minutes": rc.every_minutes,
                        "memory_threshold": rc.memory_threshold, "util_threshold_pct": rc.util_threshold_pct,
                        "models": ",".join(rc.models), "trend_confidence": rc.trend_confidence})
        links = run.metadata()
        for host, device, metric, ep, actual in events:
            first, threshold = ep[0], thresholds[metric]
            crossed = actual[(actual.index >= first.origin) & (actual >= threshold)]
            observed = crossed.index[0] if len(crossed) else None
            urgent = min(f.minutes_to_threshold for f in ep) <= rc.critical_minutes
            title = (f"{host}/{device} {LABEL[metric]} {_fmt(metric, first.current)} predicted to reach "
                     f"{_fmt(metric, threshold)} in {first.minutes_to_threshold:.0f} min (at {first.crossing_at:%H:%M} UTC), "
                     f"rising {first.slope_per_hour * SCALE[metric]:.1f} points/h")
            findings.append(Finding(
                source=ASSET, rule=RULE, entity=f"{host}:{device}:{metric}", severity="critical" if urgent else "warning",
                title=title, value=first.current, threshold=threshold, expected=first.predicted_at_horizon,
                window_start=first.origin.to_pydatetime(), window_end=(ep[-1].origin + pd.Timedelta(minutes=5)).to_pydatetime(),
                partition=context.partition_key, dagster_run_id=context.run.run_id, mlflow_run_url=links["mlflow_run"].value,
                detail={"model": first.model, "origin": first.origin.isoformat(), "origins": len(ep),
                        "predicted_crossing_at": first.crossing_at.isoformat(), "lead_minutes": first.minutes_to_threshold,
                        "observed_crossing_at": None if observed is None else observed.isoformat(),
                        "observed_lead_minutes": None if observed is None else (observed - first.origin).total_seconds() / 60,
                        "backtest_mae": {k: round(v, 6) for k, v in first.mae.items()},
                        "trend_per_hour": first.slope_per_hour, "trend_low_per_hour": first.slope_low_per_hour,
                        "excess_over_day_before_per_hour": first.excess_slope_per_hour,
                        "trend_minutes_to_threshold": first.trend_minutes_to_threshold,
                        "horizon_minutes": rc.horizon_minutes}))
            png = resource_forecast_plot(actual, first.forecast, first.origin, threshold, first.crossing_at,
                                         title, Path(tmp) / f"{host}_{device}_{metric}_{first.origin:%H%M}.png")
            run.log_artifact(png, "plots")
        earliest = min(findings, key=lambda f: f.window_start) if findings else None
        observed_leads = [f.detail["observed_lead_minutes"] for f in findings if f.detail["observed_lead_minutes"] is not None]
        run.log_metrics({"devices": windows[["host", "device"]].drop_duplicates().shape[0] if len(windows) else 0,
                         "forecasts": len(table), "crossings": len(findings),
                         "skipped": int(table["skipped"].notna().sum()) if len(table) else 0,
                         "earliest_lead_minutes": earliest.detail["lead_minutes"] if earliest else None,
                         "max_observed_lead_minutes": max(observed_leads) if observed_leads else None})
        if len(table):
            run.log_table(table.astype({"origin": str, "crossing_at": str}), "resource_forecasts.json")
    FindingStore(cfg.findings_path()).replace(ASSET, context.partition_key, findings)
    meta = {"partition": day.isoformat(), "devices": len({s["device"] for s in summary}), "forecasts": len(table),
            "crossings": len(findings), "forecast": dg.MetadataValue.md(_markdown(summary) if summary else "(no GPU windows)"),
            "findings": dg.MetadataValue.json([f.title for f in findings]), **links}
    if windows.empty:
        meta["skipped"] = f"no 5-minute GPU windows in resource_windows for {day} (ingest resource samples first)"
    yield dg.MaterializeResult(metadata=meta)
    yield dg.AssetCheckResult(check_name=CHECK, passed=not findings, severity=dg.AssetCheckSeverity.WARN,
                              metadata={"crossings": len(findings),
                                        "entities": dg.MetadataValue.json(sorted({f.entity for f in findings}))})
