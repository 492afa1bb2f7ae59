"""anomalies: every window of the partition scored by its one-step forecast residual under the champion model."""

import datetime as dt

import dagster as dg
import numpy as np
import pandas as pd

from monitor_pipeline.defs.forecasting.forecaster import day_bounds, load_window_series
from monitor_pipeline.defs.partitions import daily_partitions
from monitor_pipeline.escape import markdown_table
from monitor_pipeline.forecast.series import FREQ, SEASON, phase_of
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.warehouse import WarehouseResource

ASSET = "anomalies"


def _score_series(key: str, y: pd.Series, day_start: dt.datetime, model, model_name: str, rules, window: str,
                  calib_points: int) -> pd.DataFrame:
    """Score the windows of y from day_start on; calibrate the residual scale on up to calib_points before them."""
    from monitor_pipeline.forecast.anomaly import robust_one_step, score_windows

    values = y.to_numpy()
    first = int(np.searchsorted(y.index, pd.Timestamp(day_start)))
    need = model.warmup
    begin = max(first - calib_points, need)
    if first >= len(values) or begin > first:
        raise ValueError(f"{key}: {first} windows of history before the day; {model_name} scores from {need} in")
    k = first - begin
    fc = robust_one_step(model, values, begin, k, phase_of(y.index[0], window), rules.z_warning)
    calib = values[begin:first] - fc.mean[:k]
    today = type(fc)(fc.mean[k:], fc.lower[k:], fc.upper[k:], fc.level)
    return score_windows(key, y.index[first:], values[first:], today, calib, rules, model_name)


def _markdown(df: pd.DataFrame) -> str:
    if not len(df):
        return "(none)"
    def cell(v) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    return markdown_table(list(df.columns), [[cell(v) for v in r] for r in df.itertuples(index=False)])


@dg.asset(name=ASSET, group_name="forecasting", partitions_def=daily_partitions, deps=["forecaster"], pool=WarehouseResource.POOL,
          check_specs=[dg.AssetCheckSpec("no_critical_anomalies", asset=ASSET,
                                         description="No series has a critical anomaly (residual z ≥ z_critical or a "
                                                     "static threshold breached) in this partition.")])
def anomalies(context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource):
    """Forecast-residual anomaly scores of each window of the day, grouped into events; events become findings."""
    from monitor_pipeline.alerts.findings import Finding, FindingStore
    from monitor_pipeline.forecast.anomaly import AnomalyRules, correlate, events
    from monitor_pipeline.forecast.registry import load_champion
    from monitor_pipeline.forecast.selection import fallback
    from monitor_pipeline.warehouse.tables import replace_partition

    cfg = warehouse.settings()
    fc = cfg.forecasting
    day = dt.date.fromisoformat(context.partition_key)
    day_start, day_end = day_bounds(day)
    season = SEASON[fc.window]
    step = pd.Timedelta(FREQ[fc.window])
    calib_points = fc.calibration_days * season
    # The model needs its input window and a season before the first calibration point.
    hist_start = day_start - (2 + fc.calibration_days) * dt.timedelta(days=1) - 48 * step
    series = load_window_series(warehouse, cfg, hist_start, day_end)
    client = mlflow.client()
    scored, used, skipped = [], {}, {}
    for key, (scfg, y) in series.items():
        rules = AnomalyRules(fc.z_warning, fc.z_critical, fc.min_windows, debias_windows=fc.debias_windows,
                             upper=scfg.upper, lower=scfg.lower, min_deviation=scfg.min_deviation)
        y = y[y.index < y[y.notna()].index.max() + step]  # windows not yet arrived today are not zeros
        loaded = load_champion(client, key, context.partition_key)
        model, name = (loaded[0], loaded[1]["model"]) if loaded else (None, "seasonal_naive")
        if model is None:
            model = fallback(y[y.index < day_start].to_numpy(), season, phase_of(y.index[0], fc.window))
            if model is None:
                skipped[key] = "no champion and less than a day of history for the seasonal-naive fallback"
                continue
        try:
            part = _score_series(key, y, day_start, model, name, rules, fc.window, calib_points)
        except ValueError as exc:
            skipped[key] = str(exc)
            continue
        used[key] = loaded[1] if loaded else {"model": "seasonal_naive", "fallback": "no champion registered"}
        scored.append(part)
    frame = pd.concat(scored, ignore_index=True) if scored else pd.DataFrame()
    rules = AnomalyRules(fc.z_warning, fc.z_critical, fc.min_windows)
    found = correlate(events(frame, rules) if len(frame) else pd.DataFrame(), fc.correlate_windows * step)
    anomalous = frame[frame["severity"] != "none"] if len(frame) else frame
    with warehouse.connect() as con:
        replace_partition(con, "anomalies", anomalous, day)
    with mlflow.asset_run(context) as run:
        run.log_params({"partition": day.isoformat(), "z_warning": fc.z_warning, "z_critical": fc.z_critical,
                        "min_windows": fc.min_windows, "series": len(series)})
        run.log_metrics({"windows_scored": len(frame), "anomalous_windows": len(anomalous), "events": len(found),
                         "critical_events": int((found["severity"] == "critical").sum()) if len(found) else 0})
        if len(found):
            run.log_table(found.astype({"start": str, "end": str, "members": str}), "anomaly_events.json")
        links = run.metadata()
    findings = [Finding(source=ASSET, rule="anomaly", entity=e.series, severity=e.severity,
                        title=f"{e.series} {'above' if e.peak_value > e.expected_at_peak else 'below'} forecast",
                        value=e.peak_value, expected=e.expected_at_peak, window_start=e.start.to_pydatetime(),
                        window_end=e.end.to_pydatetime(), partition=context.partition_key,
                        detail={"windows": int(e.windows), "peak_z": round(e.peak_score, 2), "model": e.model,
                                "series": list(e.members)},
                        dagster_run_id=context.run.run_id, mlflow_run_url=links["mlflow_run"].value)
                for e in found.itertuples()]
    FindingStore(cfg.findings_path()).replace(ASSET, context.partition_key, findings)
    table = found.assign(start=found["start"].astype(str), end=found["end"].astype(str),
                         members=found["members"].map(", ".join)) if len(found) else found
    meta = {"partition": day.isoformat(), "windows_scored": len(frame), "anomalous_windows": len(anomalous),
            "events": dg.MetadataValue.md(_markdown(table)),
            "events_table": dg.MetadataValue.json([{**r, "start": str(r["start"]), "end": str(r["end"])}
                                                   for r in found.to_dict("records")]),
            "models": dg.MetadataValue.json(used), "skipped": dg.MetadataValue.json(skipped), **links}
    yield dg.MaterializeResult(metadata=meta)
    critical = found[found["severity"] == "critical"] if len(found) else found
    yield dg.AssetCheckResult(check_name="no_critical_anomalies", passed=len(critical) == 0,
                              severity=dg.AssetCheckSeverity.WARN,
                              metadata={"critical_events": len(critical),
                                        "series": dg.MetadataValue.json(sorted(set(critical.get("series", []))))})
