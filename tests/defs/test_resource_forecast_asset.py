"""resource_forecast in Dagster: the simulator's GPU memory leak flagged before it reaches the threshold, quiet GPUs not."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import duckdb
import pandas as pd
import pytest
from mlflow import MlflowClient

from monitor_pipeline.alerts.findings import FindingStore
from monitor_pipeline.defs.forecasting.resource_forecast import resource_forecast
from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
from monitor_pipeline.ingest.request import build_request
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.simulate import simulate

pytestmark = pytest.mark.slow


@pytest.fixture
def simulated(write_config, tmp_path, request):
    # The demo's traffic (100 000 requests a day); only resources are ingested. 2 days (the default) or 3 (`make demo`:
    # incidents on the third day, whose other traffic differs, so the leak's ramp meets other noise).
    simulate(tmp_path / "sim", days=getattr(request, "param", 2), seed=0)
    leak = next(
        i for i in json.loads((tmp_path / "sim" / "incidents.json").read_text()) if i["kind"] == "gpu_memory_leak"
    )
    cfg = write_config([])
    # Both days: the day before gives the first origins of the last day their lookback.
    files = sorted(str(p) for p in (tmp_path / "sim").glob("resources-*.jsonl"))
    DuckDBEngine(tmp_path / "data" / "warehouse.duckdb").ingest(build_request(files, "auto"))
    resources = {"warehouse": WarehouseResource(config_path=str(cfg)), "mlflow": MlflowResource(config_path=str(cfg))}
    return resources, tmp_path / "data", leak, leak["start"][:10]


def _materialize(resources: dict, day: str) -> dg.ExecuteInProcessResult:
    with dg.instance_for_test() as instance:
        return dg.materialize([resource_forecast], partition_key=day, resources=resources, instance=instance)


def _actual_crossing(data, host: str, device: str, threshold: float, after: str) -> pd.Timestamp:
    """The first 5-minute window at or over the threshold from `after` on (the traffic spike before it is no leak)."""
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    t = con.execute(
        "SELECT min(window_start) FROM resource_windows WHERE window_size = '5m' AND host = ? AND device = ? "
        "AND gpu_mem_used_mb_mean / gpu_mem_total_mb_mean >= ? AND window_start >= ?",
        [host, device, threshold, pd.Timestamp(after)],
    ).fetchone()[0]
    con.close()
    return pd.Timestamp(t).tz_convert("UTC")


@pytest.mark.parametrize("simulated", [2, 3], indirect=True, ids=["2-days", "demo-3-days"])
def test_memory_leak_is_flagged_before_it_reaches_the_threshold(simulated):
    resources, data, leak, day = simulated
    host, device = leak["details"]["host"], leak["details"]["device"]
    result = _materialize(resources, day)
    assert result.success
    (check,) = result.get_asset_check_evaluations()
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["entities"].value == [f"{host}:{device}:gpu_memory"]

    (finding,) = FindingStore(data / "findings.db").of("resource_forecast", day)  # quiet GPUs raise nothing
    assert finding.key == f"resource.time_to_threshold:{host}:{device}:gpu_memory" and finding.threshold == 0.9
    actual = _actual_crossing(data, host, device, 0.9, leak["start"])
    flagged = pd.Timestamp(finding.window_start)
    assert pd.Timestamp(leak["start"]) <= flagged < actual
    assert finding.value < 0.9 and finding.detail["model"] in ("linear", "random_forest", "gradient_boosting")
    assert finding.detail["trend_low_per_hour"] > 0 and 0 < finding.detail["trend_minutes_to_threshold"] < 240
    assert "rising" in finding.title
    assert finding.detail["observed_lead_minutes"] == (actual - flagged) / pd.Timedelta(minutes=1)
    predicted = pd.Timestamp(finding.detail["predicted_crossing_at"])
    assert flagged < predicted <= flagged + pd.Timedelta(minutes=finding.detail["horizon_minutes"])

    meta = result.asset_materializations_for_node("resource_forecast")[0].metadata
    assert meta["devices"].value == 4 and meta["crossings"].value == 1
    assert f"| {host}/{device} | gpu_memory |" in meta["forecast"].value
    plots = meta["forecast_vs_actual"].value  # the day's overview and the crossing's forecast, inline
    assert "**gpus.png**" in plots and f"**{host}_{device}_gpu_memory_" in plots
    assert plots.count("](data:image/png;base64,") == 2 + ("**engines.png**" in plots)
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    rows = con.execute(
        "SELECT host || '/' || device, metric, count(*), count_if(confirmed) FROM resource_forecasts "
        "WHERE partition_date = ? GROUP BY ALL ORDER BY ALL",
        [dt.date.fromisoformat(day)],
    ).fetchall()
    con.close()
    assert len(rows) == 8 and {r[1] for r in rows} == {"gpu_memory", "gpu_util"}
    assert all(r[2] == 25 for r in rows if r[1] == "gpu_memory")  # hourly origins and the latest window
    assert all(r[2] == 1 and r[3] == 0 for r in rows if r[1] == "gpu_util")  # no utilisation threshold configured
    assert [r[0] for r in rows if r[3]] == [f"{host}/{device}"]
    # The traffic spike takes every GPU over 90 % (the anomalies asset's static threshold alerts on that): stored with
    # 0 minutes to threshold, and the forecasts right after it, fit on the spike, are not confirmed.
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    reached = con.execute(
        "SELECT count(DISTINCT device || host) FROM resource_forecasts WHERE minutes_to_threshold = 0 "
        "AND partition_date = ?",
        [dt.date.fromisoformat(day)],
    ).fetchone()[0]
    con.close()
    assert reached == 4

    client = MlflowClient(tracking_uri=f"sqlite:///{data / 'mlflow.db'}")
    run = client.get_run(meta["mlflow_run_id"].value)
    assert run.data.metrics["crossings"] == 1 and run.data.metrics["devices"] == 4
    assert run.data.metrics["earliest_lead_minutes"] == finding.detail["lead_minutes"]
    logged = {a.path for a in client.list_artifacts(run.info.run_id, "plots")} - {"plots/engines.png"}
    assert logged == {f"plots/{host}_{device}_gpu_memory_{flagged:%H%M}.png", "plots/gpus.png"}


def test_a_day_without_resource_windows_is_a_clear_skip(write_config):
    cfg = write_config([])  # nothing ingested: not even a resource_windows table
    resources = {"warehouse": WarehouseResource(config_path=str(cfg)), "mlflow": MlflowResource(config_path=str(cfg))}
    result = _materialize(resources, "2026-11-10")
    meta = result.asset_materializations_for_node("resource_forecast")[0].metadata
    assert "no 5-minute GPU windows" in meta["skipped"].value and meta["forecasts"].value == 0
    assert meta["forecast_vs_actual"].value.count("data:image/png") == 1  # an empty day says so in the picture
    (check,) = result.get_asset_check_evaluations()
    assert check.passed
