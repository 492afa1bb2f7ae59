"""forecaster: per configured series, backtest every model on the days before the partition, register the best."""

import datetime as dt
import tempfile
from pathlib import Path

import dagster as dg
import pandas as pd

from monitor_pipeline.defs.partitions import daily_partitions
from monitor_pipeline.escape import markdown_table
from monitor_pipeline.forecast.series import SEASON, load_series, phase_of
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.settings import PipelineConfig, SeriesConfig


def load_window_series(warehouse: WarehouseResource, cfg: PipelineConfig, start: dt.datetime,
                       end: dt.datetime) -> dict[str, tuple[SeriesConfig, pd.Series]]:
    """Every configured series (per group) on the [start, end) grid, leading windows without data trimmed."""
    fc = cfg.forecasting
    out: dict[str, tuple[SeriesConfig, pd.Series]] = {}
    with warehouse.connect(read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        for s in fc.series:
            if s.table not in tables:
                continue
            for key, values in load_series(con, s, fc.window, start, end).items():
                first = values.first_valid_index()
                if first is not None:
                    out[key] = (s, values.loc[first:])
    return out


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC start and end of a partition day."""
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    return start, start + dt.timedelta(days=1)


def _table(rows: list[dict]) -> str:
    return markdown_table(["series", "model", "MASE", "sMAPE", "coverage", "fit s", ""], [
        [r["series"], r["model"], "", "", "", "", f"skipped: {r['skipped'][:80]}"] if "skipped" in r else
        [r["series"], r["model"], f"{r['mase']:.3f}", f"{r['smape']:.1f}", f"{r['coverage']:.2f}", f"{r['fit_s']:.1f}",
         "champion" if r["champion"] else ""] for r in rows])


@dg.asset(group_name="forecasting", partitions_def=daily_partitions, deps=["request_windows", "resource_windows"],
          pool=WarehouseResource.POOL)
def forecaster(context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource):
    """LSTM, GRU, ARIMA and seasonal-naive backtested per series on the days before the partition; the best is champion."""
    from monitor_pipeline.forecast.registry import register_champion
    from monitor_pipeline.forecast.selection import select
    from monitor_pipeline.plots import forecast_plot
    from monitor_pipeline.warehouse.tables import replace_partition

    cfg = warehouse.settings()
    fc = cfg.forecasting
    day = dt.date.fromisoformat(context.partition_key)
    start, _ = day_bounds(day - dt.timedelta(days=fc.history_days))
    end, _ = day_bounds(day)
    series = load_window_series(warehouse, cfg, start, end)
    season = SEASON[fc.window]
    rows, champions, runs = [], {}, 0
    for key, (scfg, y) in series.items():
        phase0 = phase_of(y.index[0], fc.window)
        sel = select(y.to_numpy(), scfg.models or fc.models, season, fc.horizon, fc.folds, phase0=phase0,
                     epochs=fc.epochs, hidden=fc.hidden, seed=fc.seed)
        for name, why in sel.skipped.items():
            context.log.info("%s: %s skipped: %s", key, name, why)
        for name, res in sel.results.items():
            model = sel.models[name]
            with mlflow.asset_run(context, experiment=f"forecast/{key}", name=f"forecaster/{name}") as run:
                run.set_tags({"series": key, "model": name, "champion": str(name == sel.best).lower()})
                run.log_params({**model.params(), "series": key, "window": fc.window, "horizon": fc.horizon,
                                "folds": fc.folds, "train_points": len(y), "train_start": y.index[0].isoformat()})
                run.log_metrics({"mase": res.mase, "smape": res.smape, "coverage": res.coverage,
                                 "fit_seconds": res.fit_seconds, "predict_seconds": res.predict_seconds})
                for epoch in getattr(model, "history", []):
                    run.log_metrics({"train_loss": epoch["train_loss"], "val_loss": epoch["val_loss"]}, step=epoch["epoch"])
                origin = res.per_origin[-1]["origin"]
                with tempfile.TemporaryDirectory() as tmp:
                    png = forecast_plot(y.index, y.to_numpy(), origin, model.predict(y.to_numpy()[:origin], fc.horizon,
                                                                                     phase0=phase0),
                                        f"{key}: {name} (MASE {res.mase:.2f})", Path(tmp) / f"forecast_{name}.png")
                    run.log_artifact(png, "plots")
                if name == sel.best:
                    version = register_champion(run.client, run.run_id, sel.champion, key, context.partition_key,
                                                {"dagster.run_id": context.run.run_id})
                    champions[key] = {"model": name, "version": version, "mase": round(res.mase, 4),
                                      "mlflow_run_id": run.run_id}
                runs += 1
        rows += [{"series": key, **r} for r in sel.table()]
    table = pd.DataFrame([{**r, "skipped": r.get("skipped")} for r in rows])
    with warehouse.connect() as con:
        replace_partition(con, "forecast_backtests", table, day)
    meta = {"partition": day.isoformat(), "series": len(series), "mlflow_runs": runs,
            "champions": dg.MetadataValue.json(champions),
            "history": f"{start.date()} .. {end.date() - dt.timedelta(days=1)}"}
    if not series:
        meta["skipped"] = f"no windows between {start.date()} and {end.date()}: nothing to train on before this day"
    elif rows:
        meta["backtest"] = dg.MetadataValue.md(_table(rows))
    return dg.MaterializeResult(metadata=meta)
