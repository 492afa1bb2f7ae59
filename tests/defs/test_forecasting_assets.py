"""The forecasting group in process on a simulated service: backtests in MLflow, champions, anomalies, findings."""

from __future__ import annotations

import json

import dagster as dg
import duckdb
import pytest
from mlflow.tracking import MlflowClient

from monitor_pipeline.alerts.findings import FindingStore
from monitor_pipeline.definitions import build_definitions
from monitor_pipeline.defs.forecasting.anomalies import PLOTS
from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
from monitor_pipeline.ingest.request import ingest_paths
from monitor_pipeline.simulate import simulate

DAYS = ["2026-11-17", "2026-11-18", "2026-11-19"]
ALL = ["seasonal_naive", "arima", "lstm", "gru"]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """Three simulated days (incidents on the last) ingested into a warehouse, and a config with a few series."""
    root = tmp_path_factory.mktemp("fc")
    sim = simulate(root / "sim", days=3, seed=5, requests_per_day=20_000)
    data = root / "data"
    data.mkdir()
    ingest_paths(
        DuckDBEngine(data / "warehouse.duckdb"),
        [str(root / "sim" / "requests-*.jsonl"), str(root / "sim" / "resources-*.jsonl")],
    )
    forecasting = {
        "epochs": 3,
        "hidden": 8,
        "folds": 3,
        "series": [
            {"name": "count", "table": "request_windows", "value": "sum(requests)", "fill": "zero", "models": ALL},
            {
                "name": "error_rate",
                "table": "request_windows",
                "value": "sum(requests * error_rate) / sum(requests)",
                "upper": 0.05,
                "models": ["seasonal_naive"],
            },
            {
                "name": "gpu_mem_used_share",
                "table": "resource_windows",
                "by": ["host", "device"],
                "where": "device LIKE 'gpu%'",
                "value": "avg(gpu_mem_used_mb_mean / gpu_mem_total_mb_mean)",
                "upper": 0.9,
                "models": ["seasonal_naive"],
            },
        ],
    }
    (root / "configs").mkdir()
    cfg = root / "configs" / "pipeline.yaml"
    cfg.write_text(
        json.dumps(
            {
                "data_dir": str(data),
                "partitions": {"start_date": "2026-11-01"},
                "sources": [],
                "forecasting": forecasting,
            }
        )
    )
    return build_definitions(str(cfg)), data, sim


def _run(defs: dg.Definitions, day: str, assets: list[str] | None = None) -> dg.ExecuteInProcessResult:
    job = defs.resolve_job_def("forecasting_job")
    selection = [dg.AssetKey(a) for a in assets] if assets else None
    with dg.instance_for_test() as instance:
        return job.execute_in_process(partition_key=day, instance=instance, asset_selection=selection)


def _meta(result: dg.ExecuteInProcessResult) -> dict:
    return {
        m.asset_key.to_user_string(): m.metadata
        for m in result.get_asset_materialization_events()
        for m in [m.materialization]
    }


def test_missing_champion_falls_back_to_seasonal_naive_and_no_history_is_skipped(project):
    defs, data, _ = project
    first = _meta(_run(defs, DAYS[0], ["forecast_champions"]))["forecast_champions"]
    assert first["series"].value == 0 and "nothing to train on" in first["skipped"].value
    # No champion registered yet: anomalies of the last day fall back to a seasonal-naive fit on the days before.
    meta = _meta(_run(defs, DAYS[2], ["anomalies"]))["anomalies"]
    used = meta["models"].value
    assert used["requests.count"] == {"model": "seasonal_naive", "fallback": "no champion registered"}
    assert meta["windows_scored"].value > 0
    # Forecast against actual in the Dagster UI itself: PNGs inlined as data URIs, the same files in MLflow.
    plots = meta["forecast_vs_actual"].value
    assert (
        plots.count("](data:image/png;base64,") == min(PLOTS, len(used)) and "**anomaly_requests.count.png**" in plots
    )
    client = MlflowClient(f"sqlite:///{data / 'mlflow.db'}")
    logged = [a.path for a in client.list_artifacts(meta["mlflow_run_id"].value, "plots")]
    assert "plots/anomaly_requests.count.png" in logged and len(logged) == min(PLOTS, len(used))


def test_backtests_register_champions_and_anomalies_find_the_incidents(project):
    defs, data, sim = project
    result = _run(defs, DAYS[2])
    assert result.success
    meta = _meta(result)
    champions = meta["forecast_champions"]["champions"].value
    assert set(champions) >= {"requests.count", "requests.error_rate"} and len(champions) == 6
    client = MlflowClient(f"sqlite:///{data / 'mlflow.db'}")
    exp = client.get_experiment_by_name("monitor_pipeline/forecast_champions")  # one experiment, series as tags
    runs = client.search_runs([exp.experiment_id], "tags.model != '' and tags.series = 'requests.count'")
    assert sorted(r.data.tags["model"] for r in runs) == sorted(ALL)  # LSTM, GRU, ARIMA and naive side by side
    assert all({"mase", "smape", "coverage"} <= set(r.data.metrics) for r in runs)
    lstm = next(r for r in runs if r.data.tags["model"] == "lstm")
    assert len(client.get_metric_history(lstm.info.run_id, "train_loss")) >= 1
    assert [a.path for a in client.list_artifacts(lstm.info.run_id, "plots")] == ["plots/forecast_lstm.png"]
    best = champions["requests.count"]
    version = client.get_model_version_by_alias("forecaster.requests.count", "champion")
    assert version.run_id == best["mlflow_run_id"] and version.tags["partition"] == DAYS[2]
    files = {a.path for a in client.list_logged_model_artifacts(version.source.removeprefix("models:/"))}
    assert {"MLmodel", "input_example.json"} <= files  # the pyfunc model, a LoggedModel of the champion's run
    assert best["decision"] == "promote" and best["challenger_version"] == int(version.version)
    # Anomalies of the incident day, scored by the champions registered for it.
    an = meta["anomalies"]
    assert an["models"].value["requests.count"]["version"] == int(version.version)
    found = FindingStore(data / "findings.db").of("anomalies", DAYS[2])
    kinds = {i["kind"]: i for i in sim["incidents"]}
    spike = kinds["traffic_spike"]
    assert any(
        f.window_start.isoformat() < spike["end"]
        and f.window_end.isoformat() > spike["start"]
        and "requests.count" in f.detail["series"]
        for f in found
    )
    burst = kinds["error_burst"]
    assert any(
        f.window_start.isoformat() < burst["end"]
        and f.window_end.isoformat() > burst["start"]
        and "requests.error_rate" in f.detail["series"]
        and f.severity == "critical"
        for f in found
    )
    leak = kinds["gpu_memory_leak"]["details"]
    assert any(f"host={leak['host']},device={leak['device']}" in " ".join(f.detail["series"]) for f in found)
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM anomalies WHERE partition_date = ?", [DAYS[2]]).fetchall()[0][0] > 0
    backtests = con.execute("SELECT count(*) FROM forecast_backtests WHERE partition_date = ?", [DAYS[2]]).fetchall()
    assert backtests[0][0] == 4 + 1 + 4  # count: 4 models; error rate and 4 GPUs: the baseline
    con.close()
    # A re-run replaces the day's rows and findings (no duplicates).
    n = len(found)
    assert _run(defs, DAYS[2], ["anomalies"]).success
    assert len(FindingStore(data / "findings.db").of("anomalies", DAYS[2])) == n
