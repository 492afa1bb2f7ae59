"""scalability_benchmark in Dagster: MLflow runs read back, champion tagging, a forced slowdown, a target failing mid-sweep."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import dagster as dg
import pytest
from mlflow.entities import ViewType

from monitor_pipeline.alerts.findings import FindingStore
from monitor_pipeline.defs.scalability.benchmark import ASSET, CHECK, scalability_benchmark
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.warehouse import WarehouseResource
from tests.openai_server import openai_server

pytestmark = pytest.mark.slow
TINY = {"warmup": 1, "min_repetitions": 3, "max_repetitions": 4, "max_seconds_per_point": 2.0, "threads": 1}


def _resources(write_config, **scalability) -> dict:
    cfg = write_config([], scalability=TINY | scalability)
    return {"warehouse": WarehouseResource(config_path=str(cfg)), "mlflow": MlflowResource(config_path=str(cfg))}


def _run(resources, quick: bool = False):
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [scalability_benchmark],
            resources=resources,
            instance=instance,
            raise_on_error=False,
            run_config={"ops": {ASSET: {"config": {"quick": quick}}}},
        )
    check = {e.check_name: e for e in result.get_asset_check_evaluations()}[CHECK]
    meta = result.asset_materializations_for_node(ASSET)[0].metadata
    return result, check, meta


def _runs(resources) -> list:
    client = resources["mlflow"].client()
    exp = client.get_experiment_by_name("monitor_pipeline/scalability")
    return client.search_runs(
        [exp.experiment_id],
        f"tags.`dagster.asset_key` = '{ASSET}'",
        run_view_type=ViewType.ALL,
        order_by=["attributes.start_time ASC"],
    )


def test_quick_lstm_sweep_is_one_mlflow_run_with_table_fit_and_plots(write_config, tmp_path):
    resources = _resources(write_config, target="lstm", device="cpu", slo_p95_ms=50)
    result, check, meta = _run(resources, quick=True)
    assert result.success and check.passed and meta["status"].value == "success" and meta["quick"].value is True
    (run,) = _runs(resources)
    client = resources["mlflow"].client()
    arts = {a.path for a in client.list_artifacts(run.info.run_id)} | {
        a.path for a in client.list_artifacts(run.info.run_id, "plots")
    }
    assert {
        "scalability_points.json",
        "scalability_fit.json",
        "plots/lstm_inference.png",
        "plots/lstm_training.png",
    } <= arts
    assert run.info.status == "FINISHED" and run.data.tags["scalability.champion"] == "true"
    assert run.data.tags["scalability.status"] == "success" and run.data.params["quick"] == "True"
    m = run.data.metrics
    assert (
        m["lstm_inference.reference_x"] == 8
        and m["lstm_inference.throughput_ref"] > 0
        and 0 < m["lstm_inference.slo_safe"]
    )
    assert "lstm_training.r2.latency_ms_p50" in m and m["lstm_training.reference_x"] == 512
    steps = client.get_metric_history(run.info.run_id, "lstm_inference.curve.throughput")
    assert sorted(s.step for s in steps) == [1, 2, 4, 8, 16]
    # MLflow's table artifact (load_table goes through the global tracking URI, so read the file itself)
    table = json.loads(
        Path(client.download_artifacts(run.info.run_id, "scalability_points.json", str(tmp_path))).read_text()
    )
    assert len(table["data"]) == 5 + 3 and {"latency_ms_p95", "rss_peak_mb", "throughput_rel_sd"} <= set(
        table["columns"]
    )


def test_forced_slowdown_alerts_and_a_failing_target_leaves_earlier_runs_intact(write_config):
    state = {"delay": 0.01, "fail_after": None, "served": 0}
    lock = threading.Lock()

    def model(prompt: str) -> str | int:
        with lock:
            state["served"] += 1
            if state["fail_after"] is not None and state["served"] > state["fail_after"]:
                return 503
        time.sleep(state["delay"])
        return "fine thanks"

    with openai_server(model) as srv:
        resources = _resources(
            write_config,
            target="openai",
            base_url=srv["base_url"],
            concurrency=[1, 2, 4],
            requests_per_repetition=4,
            max_requests_per_level=24,
            reference_batch=2,
            slo_p95_ms=60,
        )
        first, check, meta = _run(resources)
        assert first.success and check.passed and meta["champion_run"].value == "none"
        state["delay"] = 0.1  # the forced slowdown: several times less throughput, p95 above the SLO
        second, check, meta = _run(resources)
        assert second.success and not check.passed and check.severity == dg.AssetCheckSeverity.WARN
        rules = {f["rule"]: f["severity"] for f in check.metadata["findings"].value}
        assert "scalability.throughput_drop" in rules and rules["scalability.slo_safe_shrink"] == "critical"
        state.update(fail_after=state["served"] + 20)  # the third sweep's endpoint breaks after its first level
        third, check3, meta3 = _run(resources)
    runs = _runs(resources)
    assert [r.data.tags["scalability.status"] for r in runs] == ["success", "success", "failed"]
    assert [r.data.tags["scalability.champion"] for r in runs] == ["false", "true", "false"]
    assert runs[1].data.params["compared_with"] == runs[0].info.run_id
    assert runs[1].data.metrics["endpoint.throughput_ref"] < 0.5 * runs[0].data.metrics["endpoint.throughput_ref"]
    assert runs[1].data.metrics["endpoint.throughput_drop"] > runs[1].data.metrics["endpoint.drop_threshold"]
    # the failed third sweep: recorded, no crash, compared with (and keeping) the second run as champion
    assert third.success and not check3.passed and meta3["status"].value == "failed"
    assert runs[2].data.params["compared_with"] == runs[1].info.run_id and {r.info.status for r in runs} == {"FINISHED"}
    assert any("HTTP 503" in e for e in meta3["errors"].value)
    findings = FindingStore(resources["warehouse"].settings().findings_path()).of(ASSET)
    assert {f.rule for f in findings} == {"scalability.sweep_incomplete"}  # the third run replaced the second's rows
    assert findings[0].key.startswith("scalability.sweep_incomplete:openai:default@") and findings[0].mlflow_run_url
