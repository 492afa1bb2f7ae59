"""tracking.history without Dagster: a scalability target's champion, recent sweeps and promotion; the previous probe run."""

from __future__ import annotations

import itertools

from monitor_pipeline.tracking.history import (
    CHAMPION,
    STATUS,
    SUPERSEDED_BY,
    TARGET,
    previous_probe_run,
    promote_scalability_champion,
    scalability_champion,
    scalability_runs,
)
from monitor_pipeline.tracking.store import Store, ensure_experiment, tracking_uri_for

START = itertools.count(1_790_000_000_000, 1000)  # start times a second apart: "newest first" is well defined


def _store(tmp_path) -> Store:
    return Store(tracking_uri_for(tmp_path), None, "http://mlflow:5000")


def _run(store: Store, group: str, tags: dict[str, str], metrics: dict[str, float], status: str = "FINISHED") -> str:
    client = store.client()
    run = client.create_run(
        ensure_experiment(client, store.experiment_name(group), None), start_time=next(START), tags=tags
    )
    for k, v in metrics.items():
        client.log_metric(run.info.run_id, k, v)
    client.set_terminated(run.info.run_id, status)
    return run.info.run_id


def test_nothing_before_the_first_run(tmp_path):
    store = _store(tmp_path)
    assert (
        scalability_champion(store, "scalability", "lstm") is None
        and scalability_runs(store, "scalability", "lstm", 5) == []
    )
    assert previous_probe_run(store, "quality_probes", "support_intents", "v1", "local") is None


def test_scalability_champion_history_and_promotion(tmp_path):
    store = _store(tmp_path)
    ok = {TARGET: "lstm", STATUS: "success"}
    first = _run(store, "scalability", ok, {"s.throughput_ref": 10.0})
    _run(store, "scalability", {TARGET: "lstm", STATUS: "partial"}, {"s.throughput_ref": 1.0})
    _run(store, "scalability", {TARGET: "gru", STATUS: "success"}, {"s.throughput_ref": 99.0})
    second = _run(store, "scalability", ok, {"s.throughput_ref": 12.0})
    assert [r.info.run_id for r in scalability_runs(store, "scalability", "lstm", 5)] == [second, first]  # newest first
    assert [r.info.run_id for r in scalability_runs(store, "scalability", "lstm", 1)] == [second]
    promote_scalability_champion(store, first, None)
    champion = scalability_champion(store, "scalability", "lstm")
    assert champion is not None and champion.info.run_id == first
    promote_scalability_champion(store, second, champion)
    client = store.client()
    assert (
        client.get_run(first).data.tags[CHAMPION] == "false"
        and client.get_run(first).data.tags[SUPERSEDED_BY] == second
    )
    assert scalability_champion(store, "scalability", "lstm").info.run_id == second
    promote_scalability_champion(store, second, client.get_run(second))  # promoting the champion again changes nothing
    assert SUPERSEDED_BY not in client.get_run(second).data.tags
    assert scalability_champion(store, "scalability", "gru") is None


def test_previous_probe_run_is_the_latest_finished_one_of_the_same_set_version_and_target(tmp_path):
    store = _store(tmp_path)
    same = {"probe.set": "support_intents", "probe.version": "v1", "probe.target": "local"}
    older = _run(store, "quality_probes", same, {"passed": 90, "total": 108})
    latest = _run(store, "quality_probes", same, {"passed": 95, "total": 108})
    _run(store, "quality_probes", same, {"passed": 1, "total": 108}, status="FAILED")
    _run(store, "quality_probes", {**same, "probe.version": "v2"}, {"passed": 2, "total": 108})
    _run(store, "quality_probes", {**same, "probe.target": "http://elsewhere"}, {"passed": 3, "total": 108})
    found = previous_probe_run(store, "quality_probes", "support_intents", "v1", "local")
    assert found is not None and found.info.run_id == latest != older and found.data.metrics["passed"] == 95
    assert previous_probe_run(store, "quality_probes", "other_set", "v1", "local") is None
