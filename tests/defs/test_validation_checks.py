"""Suites as asset checks: a critical failure blocks downstream assets of the partition, a warning does not."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
from paths import ROOT, SAMPLES

from monitor_pipeline.definitions import build_definitions

DAY = "2026-11-20"


def _defs(write_config, tmp_path, latency_max: float | None = None):
    exp = tmp_path / "expectations"
    shutil.copytree(ROOT / "expectations", exp)
    if latency_max is not None:  # a user edits the JSON only
        suite = json.loads((exp / "requests.json").read_text())
        suite["expectations"].append(
            {"type": "expect_column_values_to_be_between", "kwargs": {"column": "latency_ms", "max_value": latency_max}}
        )
        (exp / "requests.json").write_text(json.dumps(suite))
    cfg = write_config(
        [
            {"name": "gw", "paths": [str(SAMPLES / "requests.jsonl")]},
            {"name": "gpu", "paths": [str(SAMPLES / "nvidia_smi.csv")]},
            {"name": "off", "paths": [str(SAMPLES / "offline.log")]},
        ],
        validation={"expectations_dir": str(exp)},
    )
    return build_definitions(str(cfg))


def _run(defs):
    with dg.instance_for_test() as instance:
        return defs.resolve_job_def("ingestion_job").execute_in_process(
            partition_key=DAY, instance=instance, raise_on_error=False
        )


def test_suites_pass_and_report(write_config, tmp_path):
    result = _run(_defs(write_config, tmp_path))
    assert result.success
    ev = {e.check_name: e for e in result.get_asset_check_evaluations()}
    for suite in ("requests", "request_windows", "resources"):
        assert ev[f"{suite}_critical_expectations"].passed
    meta = ev["requests_critical_expectations"].metadata
    assert meta["rows"].value == 2005 and not meta["sampled"].value and "| expectation |" in meta["results"].value
    assert meta["mlflow_run_id"].value
    # GX Data Docs of this validation: the local site, and the result page in the check's MLflow run.
    site = Path(meta["data_docs_site"].value)
    assert site.name == "index.html" and site.is_file() and site.parent.name == "requests"
    assert meta["data_docs"].value.startswith("http") and "/artifactPath/data_docs/" in meta["data_docs"].value
    assert meta["whole_day_expectations"].value == 0  # 2005 rows, under the sample size: one batch, every row
    assert result.asset_materializations_for_node("partition_plots")
    card = result.asset_materializations_for_node("validation_scorecard")[0].metadata
    assert card["suites"].value == 4 and card["failed_critical"].value == 0 and card["suites_not_run"].value == []
    assert "| requests | clean_requests | 2005 |" in card["scorecard"].value


@dg.asset(deps=["clean_requests"], partitions_def=dg.DailyPartitionsDefinition(start_date="2026-11-01", end_offset=1))
def downstream_of_requests() -> None:
    """Stands for the drift/quality assets that read clean_requests."""


@dg.asset(deps=["resource_samples"], partitions_def=dg.DailyPartitionsDefinition(start_date="2026-11-01", end_offset=1))
def downstream_of_resources() -> None:
    """Stands for the resource forecaster."""


def _run_with_downstream(defs):
    merged = dg.Definitions.merge(
        defs,
        dg.Definitions(
            assets=[downstream_of_requests, downstream_of_resources],
            # The ingestion group (the checked tables) and the two stand-ins: the rest of the graph is not under test.
            jobs=[
                dg.define_asset_job(
                    "all",
                    selection=dg.AssetSelection.groups("ingestion")
                    | dg.AssetSelection.assets(downstream_of_requests, downstream_of_resources),
                )
            ],
        ),
    )
    with dg.instance_for_test() as instance:
        return merged.resolve_job_def("all").execute_in_process(
            partition_key=DAY, instance=instance, raise_on_error=False
        )


def test_critical_failure_blocks_downstream_warning_does_not(write_config, tmp_path):
    defs = _defs(write_config, tmp_path, latency_max=1.0)
    result = _run_with_downstream(defs)
    ev = {e.check_name: e for e in result.get_asset_check_evaluations()}
    crit = ev["requests_critical_expectations"]
    assert not crit.passed and crit.severity == dg.AssetCheckSeverity.ERROR
    assert "expect_column_values_to_be_between(latency_ms)" in crit.metadata["failed_expectations"].value
    done = {
        m.asset_key.to_user_string() for m in result.get_asset_materialization_events() for m in [m.materialization]
    }
    assert "downstream_of_requests" not in done  # blocked by the failed critical check
    assert "downstream_of_resources" in done  # its asset's checks passed


def test_warning_failure_does_not_block(write_config, tmp_path):
    exp_defs = _defs(write_config, tmp_path)
    suite_path = tmp_path / "expectations" / "requests.json"
    suite = json.loads(suite_path.read_text())
    suite["expectations"].append(
        {
            "type": "expect_column_values_to_be_between",
            "severity": "warning",
            "kwargs": {"column": "latency_ms", "max_value": 1.0},
        }
    )
    suite_path.write_text(json.dumps(suite))
    result = _run_with_downstream(exp_defs)
    ev = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not ev["requests_warning_expectations"].passed and ev["requests_critical_expectations"].passed
    done = {
        m.asset_key.to_user_string() for m in result.get_asset_materialization_events() for m in [m.materialization]
    }
    assert "downstream_of_requests" in done
