"""Declarative automation: what follows ingestion runs when ingestion has run (no clock offset between schedules)."""

from __future__ import annotations

import datetime as dt
import json
import warnings

import dagster as dg

from monitor_pipeline.definitions import build_definitions


def test_an_ingestion_run_of_today_requests_anomalies_and_resource_forecast(write_config, tmp_path):
    today = dt.datetime.now(dt.UTC).date()
    start = max(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10), dt.datetime.combine(today, dt.time(), dt.UTC))
    (tmp_path / f"requests-{today}.jsonl").write_text(
        "\n".join(
            json.dumps(
                {"timestamp": (start + dt.timedelta(seconds=i)).isoformat(), "request_id": f"r{i}", "model": "m"}
            )
            for i in range(40)
        )
        + "\n"
    )
    cfg = write_config([{"name": "g", "paths": [str(tmp_path / "requests-{date}.jsonl")], "format": "jsonl"}])
    defs = build_definitions(str(cfg))
    followers = (dg.AssetKey("anomalies"), dg.AssetKey("resource_forecast"))
    with dg.instance_for_test() as instance, warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        before = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert before.total_requested == 0  # nothing ingested: nothing to follow
        job = defs.resolve_job_def("ingestion_job")
        ingestion = dg.AssetSelection.groups("ingestion").resolve(defs.resolve_asset_graph())
        assert (
            job.get_subset(asset_selection=set(ingestion))
            .execute_in_process(partition_key=today.isoformat(), instance=instance)
            .success
        )
        after = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=before.cursor)
    for key in followers:  # today's champions are not trained yet: anomalies still scores (seasonal-naive fallback)
        assert after.get_requested_partitions(key) == {today.isoformat()}, key
