"""tracking.runs without Dagster: a run opened for an asset, nested under its Dagster run's, and what it logs."""

from __future__ import annotations

import pytest

from monitor_pipeline.escape import mlflow_name
from monitor_pipeline.tracking.runs import AssetRef, RunHandle, asset_run, split_metrics
from monitor_pipeline.tracking.store import Store, artifact_root_for, tracking_uri_for

RUN_ID = "0123456789abcdef-dagster-run"


def _store(tmp_path) -> Store:
    return Store(tracking_uri_for(tmp_path), artifact_root_for(tmp_path), "http://mlflow:5000/")


def test_asset_runs_share_a_parent_and_carry_the_dagster_tags(tmp_path):
    store = _store(tmp_path)
    with asset_run(store, "demo_group", AssetRef(RUN_ID, "job_a", "first", "2026-11-20"), RunHandle) as run:
        assert run.log_metrics({"rows": 42, "p95": float("nan"), "note": "n/a"}) == ["p95", "note"]
        run.log_params({"window": "5m"})
        run.set_tags({"model m1!": "x"})
        first = run.run_id
        assert run.links() == {
            "mlflow_run_id": first,
            "mlflow_experiment": "monitor_pipeline/demo_group",
            "mlflow_run": f"http://mlflow:5000/#/experiments/{run.experiment_id}/runs/{first}",
        }
    with asset_run(store, "demo_group", AssetRef(RUN_ID, "job_a", "second"), RunHandle) as run:
        second = run.run_id
    client = store.client()
    exp = client.get_experiment_by_name("monitor_pipeline/demo_group")
    assert exp.artifact_location == f"{artifact_root_for(tmp_path)}/monitor_pipeline_demo_group"
    runs = {r.data.tags.get("dagster.asset_key"): r for r in client.search_runs([exp.experiment_id], "")}
    assert set(runs) == {None, "first", "second"}
    parent = runs[None]
    assert parent.info.run_name == "dagster-job_a-01234567" and parent.data.tags["dagster.parent"] == "true"
    assert parent.info.status == "FINISHED"
    f, s = runs["first"], runs["second"]
    assert (f.info.run_id, s.info.run_id) == (first, second)
    assert f.info.run_name == "first/2026-11-20/01234567" and s.info.run_name == "second/unpartitioned/01234567"
    assert f.data.tags["dagster.partition"] == "2026-11-20" and "dagster.partition" not in s.data.tags
    for r in (f, s):
        assert r.data.tags["mlflow.parentRunId"] == parent.info.run_id and r.data.tags["dagster.job"] == "job_a"
        assert r.data.tags["dagster.run_id"] == RUN_ID and r.data.tags["dagster.status"] == "FINISHED"
        assert r.info.status == "FINISHED"
    assert f.data.metrics == {"rows": 42.0} and f.data.params == {"window": "5m"}
    assert f.data.tags["metrics_not_logged"] == "note,p95"
    assert (
        f.data.tags[mlflow_name("model m1!")] == "x" and f.data.tags[f"name.{mlflow_name('model m1!')}"] == "model m1!"
    )


def test_a_raising_block_fails_the_run_and_finishes_the_parent(tmp_path):
    store = _store(tmp_path)
    with pytest.raises(ValueError, match="boom"), asset_run(store, "g", AssetRef(RUN_ID, "job", "failing"), RunHandle):
        raise ValueError("boom")
    client = store.client()
    exp = client.get_experiment_by_name("monitor_pipeline/g")
    (run,) = client.search_runs([exp.experiment_id], "tags.`dagster.asset_key` = 'failing'")
    (parent,) = client.search_runs([exp.experiment_id], "tags.`dagster.parent` = 'true'")
    assert run.info.status == "FAILED" and run.data.tags["dagster.status"] == "FAILED"
    assert parent.info.status == "FINISHED"


def test_split_metrics_keeps_only_finite_numbers():
    assert split_metrics({"a": 1, "b": "2.5", "c": None, "d": float("inf"), "e": "x"}) == (
        {"a": 1.0, "b": 2.5},
        ["c", "d", "e"],
    )
