"""The alert sensors on a real Dagster instance: failed checks and findings -> outbox -> the loopback Slack."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os

import dagster as dg
import pytest
import yaml
from duckdb_lock import holding
from slack_server import SlackServer, message_id

from monitor_pipeline.alerts.findings import Finding, FindingStore
from monitor_pipeline.alerts.outbox import Outbox
from monitor_pipeline.defs.alerting.sensors import alert_sensor, no_data_sensor, run_failure_alert_sensor
from monitor_pipeline.errors import EngineError
from monitor_pipeline.resources.slack import SlackAlertsResource
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.settings import load_config

ALERTS = {
    "channels": {"alerts": {"slack_channel": "#t"}},
    "defaults": {"cooldown": "0s", "renotify": "0s", "resolve_quiet": "1d"},
    "delivery": {"max_attempts": 20, "backoff": "0s", "timeout_s": 0.5},
}


@pytest.fixture
def setup(tmp_path, write_config, monkeypatch):
    path = write_config(
        [{"name": "gw", "paths": [str(tmp_path / "logs" / "req-{date}.jsonl")], "format": "jsonl"}],
        alerting={"config": "configs/alerts.yaml"},
    )
    (tmp_path / "configs" / "alerts.yaml").write_text(yaml.safe_dump(ALERTS))
    server = SlackServer().start()
    monkeypatch.setenv("SLACK_WEBHOOK_URL", server.url)
    resource = SlackAlertsResource(config_path=str(path), console=False)
    yield path, server, resource
    server.stop()


def _checked(passed: bool):
    @dg.asset(name="tbl", check_specs=[dg.AssetCheckSpec("rows_positive", asset="tbl")])
    def tbl():
        yield dg.Output(1)
        yield dg.AssetCheckResult(check_name="rows_positive", passed=passed, metadata={"value": 0 if not passed else 3})

    return tbl


def _tick(instance, resource, cursor=None):
    ctx = dg.build_sensor_context(
        instance=instance,
        resources={"slack": resource},
        cursor=cursor,
        definitions=dg.Definitions(assets=[_checked(True)]),
    )
    return alert_sensor(ctx)


def test_failed_check_fires_and_passing_check_resolves_once(setup):
    path, server, resource = setup
    with dg.instance_for_test() as instance:
        assert dg.materialize([_checked(False)], instance=instance).success
        first = _tick(instance, resource)
        assert first.skip_reason is None and len(first.asset_events) == 1
        meta = first.asset_events[0].metadata
        assert meta["new_alerts"].value == 1 and meta["sent"].value == 1
        assert _tick(instance, resource).skip_reason  # nothing new: skipped, nothing sent twice
        dg.materialize([_checked(False)], instance=instance)
        _tick(instance, resource)  # still failing: deduplicated
        dg.materialize([_checked(True)], instance=instance)
        _tick(instance, resource)
    kinds = [b["text"].split(":")[0] for b in server.delivered]
    assert kinds == ["CRITICAL firing", "CRITICAL resolved"]  # checks default to severity ERROR
    assert len({message_id(b) for b in server.delivered}) == 2


def test_findings_survive_a_slack_outage_over_several_ticks(setup, caplog):
    path, server, resource = setup
    caplog.set_level(logging.DEBUG)
    cfg = load_config(path)
    now = dt.datetime.now(dt.UTC)
    store = FindingStore(cfg.findings_path())
    with dg.instance_for_test() as instance:
        server.set("refuse")
        events: list[str] = []
        for i in range(3):  # three ticks of outage, one new finding each
            store.replace(
                "anomalies",
                f"p{i}",
                [
                    Finding(
                        source="anomalies",
                        rule="anomaly.requests.count",
                        entity=f"series{i}",
                        severity="critical",
                        title=f"spike {i}",
                        value=9.0,
                        expected=1.0,
                        window_end=now,
                    )
                ],
            )
            result = _tick(instance, resource)
            assert result.asset_events[0].metadata["failed_this_tick"].value == 1
            events.append(repr(result.asset_events))
        server.set("429")
        server.retry_after = 1
        _tick(instance, resource)
        paused = _tick(instance, resource)  # inside Retry-After: not even tried
        assert paused.skip_reason and len(server.requests) == 1
        server.set("ok")
        import time

        from monitor_pipeline.backoff import RETRY_AFTER_JITTER_S

        time.sleep(1.1 + RETRY_AFTER_JITTER_S)  # Retry-After plus at most the jitter the shared rule adds
        _tick(instance, resource)
    counts = Outbox.in_data_dir(cfg.data_path()).counts()
    ids = [message_id(b) for b in server.delivered]
    assert counts == {"pending": 0, "sent": 3, "dead": 0} and len(ids) == len(set(ids)) == 3
    secret = server.url.split("/services/")[1]
    assert secret not in caplog.text and "Connection refused" in events[0]  # the Dagster metadata shows the error...
    assert not any(secret in e for e in events)  # ...without the URL


def test_run_failure_sensor_posts_through_the_outbox(setup):
    path, server, resource = setup

    @dg.op
    def boom():
        raise RuntimeError("boom")

    @dg.job
    def failing():
        boom()

    with dg.instance_for_test() as instance:
        result = failing.execute_in_process(instance=instance, raise_on_error=False)
        event = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
        ctx = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert_sensor",
            dagster_event=event,
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            resources={"slack": resource},
        ).for_run_failure()
        run_failure_alert_sensor(ctx)
    assert len(server.delivered) == 1
    assert "run of failing failed" in server.delivered[0]["text"]
    assert result.run_id in str(server.delivered[0]["blocks"])


def _fail_and_tick(job_or_assets, resource, **materialize):
    """Run `job_or_assets` (a job, or assets to materialize) to failure, then one tick of the run failure sensor."""
    with dg.instance_for_test() as instance:
        if isinstance(job_or_assets, dg.JobDefinition):
            result = job_or_assets.execute_in_process(instance=instance, raise_on_error=False)
        else:
            result = dg.materialize(job_or_assets, instance=instance, raise_on_error=False, **materialize)
        assert not result.success
        event = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
        ctx = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert_sensor",
            dagster_event=event,
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            resources={"slack": resource},
        ).for_run_failure()
        run_failure_alert_sensor(ctx)
    return result


def test_run_failure_alert_carries_the_first_line_of_the_cause_and_no_secret(setup):
    path, server, resource = setup
    api_key = "sk-" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4"

    @dg.op
    def opens_warehouse():
        raise EngineError(
            f"the DuckDB warehouse /d/w.duckdb is locked by /usr/bin/python3 (PID 4242); seen via "
            f"{server.url} postgresql://dagster:hunter2@db:5432/runs {api_key}\nsecond line: details"
        )

    @dg.job
    def ingest_like():
        opens_warehouse()

    result = _fail_and_tick(ingest_like, resource)
    assert len(server.delivered) == 1
    text = server.delivered[0]["text"]
    assert (
        "run of ingest_like failed: EngineError: the DuckDB warehouse /d/w.duckdb is locked by /usr/bin/python3 "
        "(PID 4242)" in text
    )
    assert "Error occurred while executing" not in text and "second line" not in text
    posted = json.dumps(server.delivered) + json.dumps(
        [e.alert.to_json() for e in Outbox.in_data_dir(load_config(path).data_path()).entries("sent")]
    )
    for secret in ("s3cr3tW3bh00kT0k3n", "hunter2", api_key):
        assert secret not in posted
    assert result.run_id in str(server.delivered[0]["blocks"])


def test_a_warehouse_lock_timeout_reaches_slack_with_the_holder_named(setup, write_config):
    """The whole path: another process holds the DuckDB file, the asset gives up after lock_timeout_s, the alert
    says which file and which process."""
    path, server, resource = setup
    write_config([], alerting={"config": "configs/alerts.yaml"}, duckdb={"lock_timeout_s": 0.3})
    warehouse = WarehouseResource(config_path=str(path))

    @dg.asset
    def uses_warehouse(warehouse: WarehouseResource) -> None:
        with warehouse.connect():
            pass

    with warehouse.connect():  # the file exists before the holder opens it
        pass
    with holding(load_config(path).warehouse_path(), hold_s=120) as holder:
        _fail_and_tick([uses_warehouse], resource, resources={"warehouse": warehouse})
    text = server.delivered[0]["text"]
    assert f"failed: EngineError: the DuckDB warehouse {load_config(path).warehouse_path()} is locked by " in text
    assert f"(PID {holder.pid})" in text


def test_no_data_sensor_fires_for_a_silent_source_and_resolves_when_data_arrives(setup, tmp_path):
    path, server, resource = setup
    logs = tmp_path / "logs"
    logs.mkdir()
    old = logs / "req-2026-11-17.jsonl"
    old.write_text("{}\n")
    stale = dt.datetime.now().timestamp() - 5 * 3600
    os.utime(old, (stale, stale))
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, resources={"slack": resource})
        no_data_sensor(ctx)
        (logs / "req-2026-11-18.jsonl").write_text("{}\n")
        no_data_sensor(dg.build_sensor_context(instance=instance, resources={"slack": resource}))
    texts = [b["text"] for b in server.delivered]
    assert len(texts) == 2 and "no new data from source gw" in texts[0] and texts[1].startswith("CRITICAL resolved")


def test_sensors_and_the_outbox_asset_are_in_the_code_location():
    from monitor_pipeline.definitions import build_definitions

    repo = build_definitions().get_repository_def()
    status = {s.name: s.default_status for s in repo.sensor_defs}
    assert status["alert_sensor"] == dg.DefaultSensorStatus.RUNNING
    assert status["run_failure_alert_sensor"] == dg.DefaultSensorStatus.RUNNING
    assert status["no_data_sensor"] == dg.DefaultSensorStatus.STOPPED
    assert repo.asset_graph.has(dg.AssetKey("alert_outbox"))
