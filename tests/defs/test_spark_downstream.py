"""With engine: spark, the assets after ingestion read Spark's Parquet output: the same rows as the DuckDB engine."""

from __future__ import annotations

import dagster as dg
import pytest
from paths import SAMPLES

from monitor_pipeline.definitions import build_definitions
from monitor_pipeline.resources.warehouse import WarehouseResource

pytestmark = pytest.mark.slow
DAY = "2026-11-20"


def _run(cfg):
    with dg.instance_for_test() as instance:
        return (
            build_definitions(str(cfg))
            .resolve_job_def("ingestion_job")
            .execute_in_process(partition_key=DAY, instance=instance, raise_on_error=False)
        )


def _day_counts(cfg) -> dict[str, object]:
    with WarehouseResource(config_path=str(cfg)).connect(read_only=True) as con:
        out: dict[str, object] = {
            t: con.execute(f"SELECT count(*) FROM {t} WHERE partition_date = DATE '{DAY}'").fetchall()[0][0]
            for t in ("requests", "request_windows", "resources", "resource_windows", "quarantine")
        }
        # Instants, not wall times: a time-zone slip between the engines would move these.
        out["span"] = con.execute("SELECT min(timestamp), max(timestamp) FROM requests").fetchall()[0]
        out["windows"] = con.execute(
            "SELECT min(window_start), sum(requests) FROM request_windows WHERE window_size = '5m'"
        ).fetchall()[0]
    return out


def test_downstream_assets_see_the_spark_tables(spark, write_config, tmp_path):
    sources = [
        {"name": "gw", "paths": [str(SAMPLES / "requests.jsonl")]},
        {"name": "gpu", "paths": [str(SAMPLES / "nvidia_smi.csv")]},
    ]
    spark_cfg = write_config(sources, engine="spark", spark={"master": "local[2]"})
    result = _run(spark_cfg)
    assert result.success
    counts = _day_counts(spark_cfg)
    assert counts["requests"] == 2005 and min(v for v in counts.values() if isinstance(v, int)) > 0
    ev = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert ev["requests_critical_expectations"].metadata["rows"].value == 2005
    lost = ev["nothing_lost"].metadata  # read back from Spark's Parquet, not the engine's own accounting
    assert ev["nothing_lost"].passed and lost["stored_plus_other_days"].value == lost["lines_in_files"].value
    card = result.asset_materializations_for_node("validation_scorecard")[0].metadata
    assert card["suites"].value == 4
    assert result.asset_materializations_for_node("security_findings")

    duck_cfg = write_config(sources, data_dir=str(tmp_path / "duck"))
    assert _run(duck_cfg).success
    assert _day_counts(duck_cfg) == counts
