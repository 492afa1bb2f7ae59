"""Every materialization is on the record in MLflow: read back with MlflowClient."""

import dagster as dg
import pytest
from mlflow.tracking import MlflowClient

from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.tracking.store import tracking_uri_for

parts = dg.DailyPartitionsDefinition(start_date="2026-11-01")


@dg.asset(partitions_def=parts, group_name="demo_group")
def first(context: dg.AssetExecutionContext, mlflow: MlflowResource) -> dg.MaterializeResult:
    """Logs a param, metrics (one not a number) and a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = context.instance.storage_directory() + "/plot.png"
    plt.plot([1, 2, 3])
    plt.savefig(path)
    plt.close()
    with mlflow.asset_run(context) as run:
        run.log_params({"window": "5m"})
        skipped = run.log_metrics({"rows": 42, "p95": float("nan")})
        run.log_artifact(path, "plots")
        meta = run.metadata()
    assert skipped == ["p95"]
    return dg.MaterializeResult(metadata=meta)


@dg.asset(partitions_def=parts, group_name="demo_group", deps=[first])
def second(context: dg.AssetExecutionContext, mlflow: MlflowResource) -> None:
    """Logs one metric."""
    with mlflow.asset_run(context) as run:
        run.log_metrics({"x": 1})


@dg.asset(partitions_def=parts, group_name="demo_group")
def failing(context: dg.AssetExecutionContext, mlflow: MlflowResource) -> None:
    """Fails inside its MLflow run."""
    with mlflow.asset_run(context):
        raise ValueError("boom")


def test_runs_tags_params_metrics_artifacts(tmp_path):
    res = MlflowResource(data_dir=str(tmp_path))
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [first, second], partition_key="2026-11-20", resources={"mlflow": res}, instance=instance
        )
    assert result.success
    client = MlflowClient(tracking_uri_for(tmp_path))
    exp = client.get_experiment_by_name("monitor_pipeline/demo_group")
    runs = client.search_runs([exp.experiment_id], f"tags.`dagster.run_id` = '{result.run_id}'")
    by_asset = {r.data.tags.get("dagster.asset_key"): r for r in runs}
    assert set(by_asset) == {None, "first", "second"}  # None: the parent run of the Dagster run
    parent = by_asset[None]
    f = by_asset["first"]
    assert f.data.tags["dagster.partition"] == "2026-11-20" and f.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert by_asset["second"].data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert f.data.params == {"window": "5m"} and f.data.metrics == {"rows": 42.0}
    assert f.data.tags["metrics_not_logged"] == "p95" and f.info.status == "FINISHED"
    arts = [a.path for a in client.list_artifacts(f.info.run_id, "plots")]
    assert arts == ["plots/plot.png"]
    local = client.download_artifacts(f.info.run_id, "plots/plot.png", str(tmp_path / "dl"))
    assert open(local, "rb").read()[:4] == b"\x89PNG"
    meta = result.asset_materializations_for_node("first")[0].metadata
    assert meta["mlflow_run_id"].value == f.info.run_id


def test_failed_asset_marks_run_failed(tmp_path):
    res = MlflowResource(data_dir=str(tmp_path))
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [failing], partition_key="2026-11-20", resources={"mlflow": res}, instance=instance, raise_on_error=False
        )
    assert not result.success
    client = MlflowClient(tracking_uri_for(tmp_path))
    exp = client.get_experiment_by_name("monitor_pipeline/demo_group")
    (run,) = client.search_runs([exp.experiment_id], "tags.`dagster.asset_key` = 'failing'")
    assert run.info.status == "FAILED" and run.data.tags["dagster.status"] == "FAILED"


@pytest.mark.parametrize("uri", ["http://mlflow.internal:5000"])
def test_server_uri_by_config(uri):
    assert MlflowResource(tracking_uri=uri).uri() == uri


def test_tracking_uri_from_config(write_config, tmp_path):
    cfg = write_config(
        [], mlflow={"tracking_uri": f"sqlite:///{tmp_path}/elsewhere.db", "ui_url": "http://mlflow:5000"}
    )
    res = MlflowResource(config_path=str(cfg))
    assert res.uri() == f"sqlite:///{tmp_path}/elsewhere.db"
    assert res.client().search_experiments()  # the store is created and answers
