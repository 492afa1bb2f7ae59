"""raw_logs freshness: the observation sensor records the newest file time, Dagster's freshness check judges it, and a
failure reaches the alert path."""

from __future__ import annotations

import datetime as dt
import os
import time

import dagster as dg
import pytest
import yaml

from monitor_pipeline.alerts.outbox import Outbox
from monitor_pipeline.defs.alerting.observe import new_check_evaluations
from monitor_pipeline.defs.ingestion.assets import RAW_LOGS
from monitor_pipeline.defs.ingestion.freshness import (
    FRESHNESS_CHECKS,
    LAST_UPDATED,
    configured_freshness,
    newest_mtimes,
    raw_logs_freshness,
)
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.settings import load_config

BOUND = dt.timedelta(hours=2)
CHECK = dg.AssetCheckKey(RAW_LOGS.key, "freshness_check")


@pytest.fixture
def setup(tmp_path, write_config):
    """A config with one source (a {date} glob) whose file exists, and the freshness definitions over it."""
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "req-2026-12-07.jsonl"
    log.write_text('{"x": 1}\n')
    path = write_config([{"name": "gw", "paths": [str(logs / "req-{date}.jsonl")], "format": "jsonl"}])
    warehouse = WarehouseResource(config_path=str(path))
    checks, sensors = raw_logs_freshness(BOUND)
    defs = dg.Definitions(assets=[RAW_LOGS], asset_checks=checks, sensors=sensors, resources={"warehouse": warehouse})
    with dg.instance_for_test() as instance:
        yield log, defs, warehouse, instance


def _age(path, hours: float) -> None:
    t = time.time() - hours * 3600
    os.utime(path, (t, t))


def _sensor(defs: dg.Definitions, name: str) -> dg.SensorDefinition:
    return next(s for s in defs.sensors or [] if s.name == name)


def _observe(defs, warehouse, instance, cursor=None) -> dg.SensorResult:
    """One tick of the observation sensor; its asset events are stored the way the sensor daemon stores them."""
    ctx = dg.build_sensor_context(
        instance=instance, cursor=cursor, definitions=defs, resources={"warehouse": warehouse}
    )
    result = _sensor(defs, "raw_logs_observation_sensor")(ctx)
    assert isinstance(result, dg.SensorResult)
    for event in result.asset_events:
        instance.report_runless_asset_event(event)
    return result


def _run_checks(defs, instance, keys) -> list[dg.AssetCheckEvaluation]:
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_check_selection=set(keys), asset_selection=set()
    )
    result = job.execute_in_process(instance=instance)
    assert result.success
    return result.get_asset_check_evaluations()


def _freshness_tick(defs, instance) -> list[dg.AssetCheckEvaluation]:
    """Dagster's freshness sensor decides; the checks it asks for are executed."""
    request = _sensor(defs, "raw_logs_freshness_sensor")(dg.build_sensor_context(instance=instance, definitions=defs))
    assert isinstance(request, dg.RunRequest), request
    assert request.asset_check_keys == [CHECK]
    return _run_checks(defs, instance, request.asset_check_keys)


def test_file_touched_now_passes(setup):
    log, defs, warehouse, instance = setup
    result = _observe(defs, warehouse, instance)
    (obs,) = result.asset_events
    assert obs.metadata[LAST_UPDATED].value == pytest.approx(os.path.getmtime(log))
    assert obs.metadata["last_change_by_source"].value.keys() == {"gw"}
    (evaluation,) = _freshness_tick(defs, instance)
    assert evaluation.passed, evaluation.description
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR


def test_file_older_than_the_bound_fails_and_reaches_the_alert_path(setup, tmp_path):
    log, defs, warehouse, instance = setup
    _age(log, 3)  # three hours silent, two allowed
    _observe(defs, warehouse, instance)
    (evaluation,) = _freshness_tick(defs, instance)
    assert not evaluation.passed
    assert evaluation.metadata[LAST_UPDATED].value == pytest.approx(os.path.getmtime(log))
    # What alert_sensor reads: this evaluation becomes a bad, critical `check.freshness_check` observation.
    outbox = Outbox.in_data_dir(tmp_path / "data")
    (alert,), _ = new_check_evaluations(instance, [CHECK], outbox, dt.datetime.now(dt.UTC))
    assert (alert.rule, alert.entity, alert.bad, alert.severity) == (
        "check.freshness_check",
        "raw_logs",
        True,
        "critical",
    )


def test_no_observation_fails_as_never_updated(setup):
    _, defs, _, instance = setup
    (evaluation,) = _freshness_tick(defs, instance)
    assert not evaluation.passed


def test_logs_resuming_rerun_the_failed_check(setup):
    """After a failure only new data re-runs the check (Dagster's sensor waits for a materialization that never comes)."""
    log, defs, warehouse, instance = setup
    _age(log, 3)
    stale = _observe(defs, warehouse, instance)
    assert not stale.run_requests  # nothing failed yet
    assert not _freshness_tick(defs, instance)[0].passed
    same = _observe(defs, warehouse, instance, cursor=stale.cursor)
    assert same.skip_reason and not same.asset_events  # unchanged files: no new observation
    fails_again = dg.build_sensor_context(instance=instance, definitions=defs)
    assert isinstance(_sensor(defs, "raw_logs_freshness_sensor")(fails_again), dg.SkipReason)
    log.write_text('{"x": 2}\n')  # the logs resume
    resumed = _observe(defs, warehouse, instance, cursor=stale.cursor)
    (request,) = resumed.run_requests
    (evaluation,) = _run_checks(defs, instance, request.asset_check_keys)
    assert evaluation.passed


def test_still_stale_change_does_not_rerun(setup):
    log, defs, warehouse, instance = setup
    _age(log, 5)
    first = _observe(defs, warehouse, instance)
    assert not _freshness_tick(defs, instance)[0].passed
    _age(log, 4)  # moved, but still older than the bound: a run would only fail again
    later = _observe(defs, warehouse, instance, cursor=first.cursor)
    assert later.asset_events and not later.run_requests


def test_newest_mtimes_reads_directories_and_globs_and_skips_remote(tmp_path, write_config):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "sub" / "a.csv").write_text("x\n")
    (tmp_path / "d" / "old.csv").write_text("x\n")
    _age(tmp_path / "d" / "old.csv", 10)
    _age(tmp_path / "d" / "sub" / "a.csv", 1)
    (tmp_path / "g-2026-12-01.log").write_text("x\n")
    _age(tmp_path / "g-2026-12-01.log", 2)
    path = write_config(
        [
            {"name": "dir", "paths": [str(tmp_path / "d")]},
            {"name": "glob", "paths": [str(tmp_path / "g-{date}.log")]},
            {"name": "remote", "paths": ["s3a://bucket/logs/{date}/"]},
            {"name": "missing", "paths": [str(tmp_path / "nothing-{date}.log")]},
        ]
    )
    got = newest_mtimes(load_config(path, env={}))
    assert got.keys() == {"dir", "glob"}
    assert got["dir"] == pytest.approx(time.time() - 3600, abs=60)
    assert got["glob"] == pytest.approx(time.time() - 7200, abs=60)


def test_bound_and_severity_come_from_no_data(tmp_path, write_config):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "alerts.yaml").write_text(
        yaml.safe_dump({"no_data": {"max_silence": "30m", "severity": "warning"}})
    )
    path = write_config([], alerting={"config": str(tmp_path / "configs" / "alerts.yaml")})
    assert configured_freshness(load_config(path, env={})) == (dt.timedelta(minutes=30), dg.AssetCheckSeverity.WARN)
    # The code location's check uses the project's alerts.yaml (no_data.max_silence: 2h).
    (spec,) = FRESHNESS_CHECKS[0].check_specs
    assert spec.metadata["dagster/freshness_params"].value["lower_bound_delta_seconds"] == 7200
