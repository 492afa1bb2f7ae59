"""quality_report in Dagster: metrics per model, floors, chi-square of outputs, online.log accuracy, no-labels skip."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from monitor_pipeline.defs.drift_quality.quality import FLOORS, ONLINE, OUTPUTS, quality_report
from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
from monitor_pipeline.ingest.request import build_request
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.simulate import simulate

pytestmark = pytest.mark.slow


def _warehouse(root, incidents) -> Path:
    """Two simulated days ingested into root/warehouse.duckdb."""
    simulate(root / "sim", days=2, requests_per_day=6000, seed=3, with_incidents=incidents)
    engine = DuckDBEngine(root / "warehouse.duckdb")
    engine.ingest(build_request([str(p) for p in sorted((root / "sim").glob("requests-*.jsonl"))], "jsonl"))
    engine.ingest(build_request([str(root / "sim" / "online.log")], "online_log"))
    return root / "warehouse.duckdb"


def _setup(write_config, tmp_path, warehouse):
    # The simulator's online.log has a few classify requests a minute at this volume: hourly accuracy wobbles ±0.1.
    cfg = write_config([], quality={"online_accuracy_floor": 0.7})
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    shutil.copy(warehouse, data / "warehouse.duckdb")  # each test its own copy: tests change rows
    return {"warehouse": WarehouseResource(config_path=str(cfg)), "mlflow": MlflowResource(config_path=str(cfg))}, data


@pytest.fixture(scope="module")
def quiet_warehouse(tmp_path_factory) -> Path:
    """The days without incidents, simulated and ingested once for the tests that start from them."""
    return _warehouse(tmp_path_factory.mktemp("quiet"), incidents=False)


@pytest.fixture
def setup(write_config, tmp_path, quiet_warehouse):
    return _setup(write_config, tmp_path, quiet_warehouse)


def _run(resources, day):
    with dg.instance_for_test() as instance:
        result = dg.materialize([quality_report], partition_key=day, resources=resources, instance=instance)
    return result, {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_healthy_day_passes_with_metrics_report_and_mlflow(setup):
    resources, data = setup
    result, checks = _run(resources, "2026-11-18")
    meta = result.asset_materializations_for_node("quality_report")[0].metadata
    assert 0.85 < meta["accuracy"].value < 0.95  # the simulator's classifier is right 90% of the time
    assert "| llama-3.1-8b-instruct |" in meta["by_model"].value and meta["roc_auc"].value > 0.7
    assert (data / "reports" / "quality" / "2026-11-18.html").exists()
    assert checks[FLOORS].passed and checks[OUTPUTS].passed and checks[ONLINE].passed
    # A line a minute, less the bad ones the simulator plants.
    assert "skipped" not in checks[ONLINE].metadata and checks[ONLINE].metadata["samples"].value > 1300
    run = resources["mlflow"].client().get_run(meta["mlflow_run_id"].value)
    assert 0.85 < run.data.metrics["accuracy"] < 0.95 and "chi2_p.prediction" in run.data.metrics


def test_regressed_model_fails_floor_and_shifts_outputs(setup):
    resources, data = setup
    with duckdb.connect(str(data / "warehouse.duckdb")) as con:
        # One model starts answering "billing" to half of what it classifies.
        con.execute(
            "UPDATE requests SET prediction = 'billing' WHERE partition_date = DATE '2026-11-18' "
            "AND model = 'llama-3.1-8b-instruct' AND label IS NOT NULL AND hash(request_id) % 2 = 0"
        )
        con.execute(
            "UPDATE online_log SET accuracy = 0.5 WHERE partition_date = DATE '2026-11-18' AND hour(timestamp) = 3"
        )
    _, checks = _run(resources, "2026-11-18")
    below = checks[FLOORS].metadata["below_floor"].value
    assert not checks[FLOORS].passed and checks[FLOORS].severity == dg.AssetCheckSeverity.ERROR
    assert {"llama-3.1-8b-instruct"} <= {b["model"] for b in below}
    assert "qwen2.5-14b-instruct" not in {b["model"] for b in below}
    assert not checks[OUTPUTS].passed and "prediction" in checks[OUTPUTS].metadata["rejected"].value
    hours = [w["window_start"][11:13] for w in checks[ONLINE].metadata["below_floor"].value]
    assert not checks[ONLINE].passed and hours == ["03"]


def test_no_labels_is_a_clear_skip(setup):
    resources, data = setup
    with duckdb.connect(str(data / "warehouse.duckdb")) as con:
        con.execute("UPDATE requests SET label = NULL, prediction = NULL WHERE partition_date = DATE '2026-11-18'")
    result, checks = _run(resources, "2026-11-18")
    assert result.success
    assert checks[FLOORS].passed and checks[FLOORS].metadata["skipped"].value.startswith("no labels")
    assert "no labels" in result.asset_materializations_for_node("quality_report")[0].metadata["skipped"].value


def test_error_mix_shift_fails_the_output_test_but_not_traffic_mix(write_config, tmp_path):
    # Day 2 of a simulation with incidents carries the abusive user: thousands of extra unlabeled chat requests.
    # That changes the traffic mix, not the model's outputs: the predicted-class test must stay quiet.
    resources, data = _setup(write_config, tmp_path, _warehouse(tmp_path, incidents=True))
    _, checks = _run(resources, "2026-11-18")
    assert "prediction" not in checks[OUTPUTS].metadata["rejected"].value
    with duckdb.connect(str(data / "warehouse.duckdb")) as con:
        # A gateway starts rate-limiting one request in ten.
        con.execute(
            "UPDATE requests SET status = 'error', error_type = 'rate_limited' "
            "WHERE partition_date = DATE '2026-11-18' AND hash(request_id) % 10 = 0"
        )
    _, checks = _run(resources, "2026-11-18")
    assert not checks[OUTPUTS].passed and checks[OUTPUTS].metadata["rejected"].value == ["error_type"]
    assert "| error_type |" in checks[OUTPUTS].metadata["tests"].value
