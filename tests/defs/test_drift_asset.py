"""drift_report in Dagster: HTML report, per-column scores, MLflow run, and the warning check."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from monitor_pipeline.defs.drift_quality.drift import drift_report
from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
from monitor_pipeline.ingest.request import build_request
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.simulate import simulate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """Three simulated days ingested once; each test gets its own copy."""
    root = tmp_path_factory.mktemp("drift")
    simulate(root / "sim", days=3, requests_per_day=5000, seed=2)
    files = [str(p) for p in sorted((root / "sim").glob("requests-*.jsonl"))]
    DuckDBEngine(root / "warehouse.duckdb").ingest(build_request(files, "jsonl"))
    return root / "warehouse.duckdb"


@pytest.fixture
def setup(write_config, tmp_path, warehouse):
    cfg = write_config([], drift={"reference_partition": "2026-11-17"})
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    shutil.copy(warehouse, data / "warehouse.duckdb")
    return {"warehouse": WarehouseResource(config_path=str(cfg)), "mlflow": MlflowResource(config_path=str(cfg))}, data


def _run(resources, day):
    with dg.instance_for_test() as instance:
        return dg.materialize([drift_report], partition_key=day, resources=resources, instance=instance)


def test_check_fires_on_drift_day_and_not_on_quiet_day(setup):
    resources, data = setup
    drifted = _run(resources, "2026-11-19")
    (ev,) = drifted.get_asset_check_evaluations()
    assert (
        not ev.passed
        and ev.severity == dg.AssetCheckSeverity.WARN
        and "input_tokens" in ev.metadata["drifted_columns"].value
    )
    meta = drifted.asset_materializations_for_node("drift_report")[0].metadata
    assert (data / "reports" / "drift" / "2026-11-19.html").exists() and meta["mlflow_run_id"].value
    assert "| input_tokens | Wasserstein" in meta["columns"].value
    # The report link is the MLflow UI's page of the logged HTML, which opens from any machine, not a local path.
    run_id = meta["mlflow_run_id"].value
    assert meta["report"].value.endswith(f"/runs/{run_id}/artifactPath/reports/2026-11-19.html")
    assert meta["report"].value.startswith("http")
    quiet = _run(resources, "2026-11-17")  # the reference against itself
    (ev,) = quiet.get_asset_check_evaluations()
    assert ev.passed and quiet.asset_materializations_for_node("drift_report")[0].metadata["drift_share"].value == 0


def test_no_reference_is_a_clear_skip(setup, write_config):
    resources, _ = setup
    cfg = write_config([], drift={"reference_days": 1})
    resources = {"warehouse": WarehouseResource(config_path=str(cfg)), "mlflow": MlflowResource(config_path=str(cfg))}
    result = _run(resources, "2026-11-17")  # 2026-11-16 holds nothing
    (ev,) = result.get_asset_check_evaluations()
    assert ev.passed and "reference has 0 rows" in ev.metadata["skipped"].value
