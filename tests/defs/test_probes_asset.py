"""quality_probes in Dagster: the local MiniLM target, an OpenAI-compatible loopback target, drops, a target down."""

from __future__ import annotations

import dagster as dg
import pytest
from mlflow.entities import ViewType

from monitor_pipeline.defs.drift_quality.probes import CHECK, quality_probes
from monitor_pipeline.drift_quality.probes.sets import load_probe_set
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.warehouse import WarehouseResource
from tests.openai_server import free_port, openai_server
from tests.paths import ROOT

pytestmark = pytest.mark.slow
KEY = "sk-probe-key-never-logged-42"
EXPECTED = {p.input: str(p.expected) for p in load_probe_set(ROOT / "assets" / "golden", "support_intents").probes}


def _resources(write_config, target: dict) -> dict:
    cfg = write_config([], probes={"sets": ["support_intents"], "target": target})
    return {"warehouse": WarehouseResource(config_path=str(cfg)), "mlflow": MlflowResource(config_path=str(cfg))}


def _run(resources):
    with dg.instance_for_test() as instance:
        result = dg.materialize([quality_probes], resources=resources, instance=instance, raise_on_error=False)
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    return result, checks


def _runs(resources):
    client = resources["mlflow"].client()
    exp = client.get_experiment_by_name("monitor_pipeline/quality_probes")
    return (
        []
        if exp is None
        else client.search_runs([exp.experiment_id], "tags.`probe.set` = 'support_intents'", run_view_type=ViewType.ALL)
    )


def test_local_minilm_target_and_history(write_config):
    resources = _resources(write_config, {"kind": "local"})
    first, checks = _run(resources)
    meta = first.asset_materializations_for_node("quality_probes")[0].metadata
    assert first.success and checks[CHECK].passed
    assert 0.7 < meta["pass_rate"].value < 1.0  # zero-shot MiniLM routes most, not all, support queries right
    assert "| support_intents@v1 |" in meta["sets"].value and "| none |" in meta["sets"].value
    second, checks = _run(resources)  # the same model again: same answers, no drop
    assert checks[CHECK].passed and "| none |" not in checks[CHECK].metadata["sets"].value
    runs = _runs(resources)
    assert len(runs) == 2 and {r.info.status for r in runs} == {"FINISHED"}
    m = runs[0].data.metrics
    assert m["total"] == 108 and m["wilson_low"] < m["pass_rate"] < m["wilson_high"] and m["roc_auc"] > 0.9
    assert runs[0].data.params["previous_run"] == runs[1].info.run_id


def test_openai_target_check_fails_only_on_a_significant_drop(write_config, monkeypatch):
    monkeypatch.setenv("PROBE_KEY", KEY)
    wrong: dict = {"share": 0.0}

    def model(prompt: str) -> str:
        query = prompt.rsplit("Message: ", 1)[1].strip()
        truth = EXPECTED[query]
        # Deterministically wrong on the first `share` of the queries (by their order in the set).
        return (
            "billing" if list(EXPECTED).index(query) < wrong["share"] * len(EXPECTED) and truth != "billing" else truth
        )

    with openai_server(model, api_key=KEY) as srv:
        resources = _resources(
            write_config,
            {
                "kind": "openai",
                "base_url": srv["base_url"],
                "model": "router-1",
                "api_key_env": "PROBE_KEY",
                "concurrency": 4,
            },
        )
        _, checks = _run(resources)
        assert checks[CHECK].passed
        wrong["share"] = 0.03  # 108 -> 105 passed: noise, not a regression
        _, checks = _run(resources)
        assert checks[CHECK].passed
        wrong["share"] = 0.35
        result, checks = _run(resources)
    assert result.success and not checks[CHECK].passed and checks[CHECK].severity == dg.AssetCheckSeverity.ERROR
    assert checks[CHECK].metadata["significant_drops"].value == ["support_intents"]
    assert srv["max_in_flight"] <= 4


def test_target_down_fails_with_the_url_and_keeps_earlier_results(write_config, monkeypatch, capfd):
    monkeypatch.setenv("PROBE_KEY", KEY)
    with openai_server(lambda p: EXPECTED[p.rsplit("Message: ", 1)[1].strip()]) as srv:
        resources = _resources(
            write_config, {"kind": "openai", "base_url": srv["base_url"], "model": "m", "api_key_env": "PROBE_KEY"}
        )
        assert _run(resources)[0].success
    before = [(r.info.run_id, r.info.status) for r in _runs(resources)]
    url = f"http://127.0.0.1:{free_port()}/v1"
    resources = _resources(
        write_config, {"kind": "openai", "base_url": url, "model": "m", "api_key_env": "PROBE_KEY", "retries": 1}
    )
    result, _ = _run(resources)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.event_specific_data.error.message
    assert f"probe target {url}/chat/completions failed" in message and KEY not in message
    assert [(r.info.run_id, r.info.status) for r in _runs(resources)] == before
    assert KEY not in "".join(capfd.readouterr())
