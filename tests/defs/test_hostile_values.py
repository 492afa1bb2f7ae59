"""drift_report and quality_report on a day whose model, operation and user_id values are hostile: both succeed, and
nothing from the data acts in the HTML report, the MLflow names or the Dagster markdown."""

from __future__ import annotations

import re

import dagster as dg
import duckdb
import pytest
from hostile import HOSTILE

from monitor_pipeline.defs.drift_quality.drift import drift_report
from monitor_pipeline.defs.drift_quality.quality import quality_report
from monitor_pipeline.escape import mlflow_name
from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
from monitor_pipeline.ingest.request import build_request
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.simulate import simulate

pytestmark = pytest.mark.slow

DAY, REFERENCE = "2026-11-18", "2026-11-17"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Two small simulated days; on the second every model, operation and user_id is one of HOSTILE."""
    tmp = tmp_path_factory.mktemp("hostile")
    simulate(tmp / "sim", days=2, requests_per_day=1500, seed=3, with_incidents=False)
    data = tmp / "data"
    cfg = tmp / "configs" / "pipeline.yaml"
    cfg.parent.mkdir()
    cfg.write_text(
        f"data_dir: {data}\npartitions: {{start_date: '2026-11-01'}}\nsources: []\n"
        f"drift: {{reference_partition: '{REFERENCE}', min_rows: 100}}\n"
    )
    DuckDBEngine(data / "warehouse.duckdb").ingest(
        build_request([str(p) for p in sorted((tmp / "sim").glob("requests-*.jsonl"))], "jsonl")
    )
    cases = " ".join(f"WHEN {i} THEN ${i + 1}" for i in range(len(HOSTILE)))
    with duckdb.connect(str(data / "warehouse.duckdb")) as con:
        for col, salt in (("model", 0), ("operation", 1), ("user_id", 2)):
            con.execute(
                f"UPDATE requests SET {col} = CASE (hash(request_id) + {salt}) % {len(HOSTILE)} {cases} END "
                f"WHERE partition_date = DATE '{DAY}'",
                HOSTILE,
            )
        assert {
            r[0] for r in con.execute(f"SELECT DISTINCT model FROM requests WHERE partition_date = '{DAY}'").fetchall()
        } == set(HOSTILE)
    resources = {"warehouse": WarehouseResource(config_path=str(cfg)), "mlflow": MlflowResource(config_path=str(cfg))}
    return resources, data


def _materialize(asset, resources):
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [asset], partition_key=DAY, resources=resources, instance=instance, raise_on_error=False
        )
    assert result.success, [str(e.event_specific_data.error) for e in result.all_events if e.is_step_failure]
    return result, result.asset_materializations_for_node(asset.op.name)[0].metadata


def _markdown_inert(md: str) -> None:
    assert "<" not in md and "](" not in md.replace("\\](", ""), md


def test_quality_report_succeeds_with_hostile_model_names(hostile):
    resources, data = hostile
    result, meta = _materialize(quality_report, resources)
    _markdown_inert(meta["by_model"].value)
    _markdown_inert(meta["output_tests"].value)
    assert "| a@b (c)+d |" in meta["by_model"].value and "| &lt;!channel&gt; |" in meta["by_model"].value
    run = resources["mlflow"].client().get_run(meta["mlflow_run_id"].value)
    for model in HOSTILE:
        safe = mlflow_name(model)
        assert f"{safe}.accuracy" in run.data.metrics, model  # one metric per model, under a name MLflow accepts
        assert run.data.tags[f"name.{safe}"] == model  # and the original kept beside it
    assert "accuracy" in run.data.metrics
    html = (data / "reports" / "quality" / f"{DAY}.html").read_text()
    assert "<script>document.title" not in html


def test_drift_report_succeeds_and_its_html_embeds_no_markup(hostile):
    resources, data = hostile
    result, meta = _materialize(drift_report, resources)
    _markdown_inert(meta["columns"].value)
    html = (data / "reports" / "drift" / f"{DAY}.html").read_text()
    assert "document.title=\\u0027pwned\\u0027" not in html  # (sanity: json.dumps leaves quotes alone)
    assert "document.title='pwned'\\u003c/script\\u003e" in html  # the value is there, escaped for <script>
    assert not re.search(r"</script><script>document\.title|<img src=x onerror", html)
    # The report's scripts are Evidently's own: as many <script> openings as in a report without data values.
    assert html.count("<script") == 5
