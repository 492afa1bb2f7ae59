"""The live loop in process: micro-batches equal one ingest, critical checks block, the sensor coalesces and keeps
its cursor, and the daily run reports any difference from the live tables."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from monitor_pipeline.definitions import build_definitions
from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
from monitor_pipeline.ingest.request import build_request
from monitor_pipeline.resources.warehouse import WarehouseResource

NOW = dt.datetime.now(dt.UTC)
PARTIAL = '{"timestamp": "cut'  # a line still being written
# Twenty minutes up to a minute ago, a line every 2 s; never before today's midnight (the live loop follows today).
T0 = max(NOW - dt.timedelta(minutes=21), dt.datetime.combine(NOW.date(), dt.time(), dt.UTC))


def lines(start: int, n: int, latency: float = 120.0) -> str:
    """n request lines from line `start` on, 2 s apart from T0 (capped at now)."""
    out = []
    for i in range(start, start + n):
        t = min(T0 + dt.timedelta(seconds=2 * i), NOW - dt.timedelta(seconds=5))
        rec = {
            "timestamp": t.isoformat().replace("+00:00", "Z"),
            "request_id": f"live-{i}",
            "model": "m1",
            "user_id": f"u{i % 7}",
            "latency_ms": latency,
            "input_tokens": 20,
            "output_tokens": 10,
            "status": "ok",
        }
        out.append(json.dumps(rec))
    return "\n".join(out) + "\n"


@pytest.fixture
def live(write_config, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / f"requests-{NOW.date().isoformat()}.jsonl"
    log.write_text(lines(0, 200))
    cfg = write_config(
        [{"name": "gateway", "paths": [str(logs / "requests-{date}.jsonl")], "format": "jsonl", "live": True}]
    )
    return build_definitions(str(cfg)), log, tmp_path, cfg


def _run(d: dg.Definitions, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return d.resolve_job_def("live_job").execute_in_process(instance=instance, raise_on_error=False)


def _requests(db: Path) -> list:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT * EXCLUDE (ingested_at) FROM requests ORDER BY source_line").fetchall()
    finally:
        con.close()


def test_micro_batches_equal_one_ingest_and_run_every_step(live):
    d, log, tmp, _ = live
    db = tmp / "data" / "warehouse.duckdb"
    with dg.instance_for_test() as instance:
        first = _run(d, instance)
        assert first.success
        with open(log, "a") as fh:
            fh.write(lines(200, 150) + PARTIAL)  # and a line still being written
        second = _run(d, instance)
        assert second.success
    mats = {e.asset_key.to_user_string(): e.materialization.metadata for e in second.get_asset_materialization_events()}
    assert set(mats) == {"live_ingest", "live_security", "live_anomalies", "live_capacity"}
    assert mats["live_ingest"]["new_lines"].value == 150 and mats["live_ingest"]["pending_bytes"].value == len(PARTIAL)
    checks = {e.check_name: e.passed for e in second.get_asset_check_evaluations()}
    assert checks == {"live_nothing_lost": True, "live_requests_critical_expectations": True}
    one = tmp / "one.duckdb"
    with open(log, "r+b") as fh:  # the whole file as it was read: without the partial line
        fh.truncate(log.stat().st_size - len(PARTIAL))
    DuckDBEngine(one).ingest(build_request([str(log)], "jsonl", now=NOW, source="gateway"))
    assert _requests(db) == _requests(one)


@pytest.mark.parametrize(
    ("expectation", "evaluated_by"),
    [
        (
            {"type": "expect_column_values_to_be_between", "kwargs": {"column": "latency_ms", "max_value": 1000}},
            "duckdb",
        ),
        # A type the SQL evaluation does not know: the suite goes to Great Expectations, and still blocks.
        ({"type": "expect_column_value_lengths_to_be_between", "kwargs": {"column": "model", "max_value": 1}}, "great"),
    ],
)
def test_a_failed_critical_expectation_blocks_what_follows(live, write_config, expectation, evaluated_by):
    d, log, tmp, _ = live
    suites = tmp / "expectations"
    shutil.copytree(Path(__file__).resolve().parents[2] / "expectations", suites)
    suite = json.loads((suites / "requests.json").read_text())
    suite["expectations"].append(expectation)
    (suites / "requests.json").write_text(json.dumps(suite))
    cfg = write_config(
        [{"name": "gateway", "paths": [str(log.parent / "requests-{date}.jsonl")], "format": "jsonl", "live": True}],
        validation={"expectations_dir": str(suites)},
    )
    d = build_definitions(str(cfg))
    log.write_text(lines(0, 50, latency=5000.0))
    with dg.instance_for_test() as instance:
        result = _run(d, instance)
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    critical = checks["live_requests_critical_expectations"]
    assert critical.passed is False and critical.metadata["evaluated_by"].text.startswith(evaluated_by)
    assert expectation["type"] in critical.metadata["failed_expectations"].value[0]
    done = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert done == {"live_ingest"}  # security and anomalies wait for lines that pass


def _sensor(d: dg.Definitions):
    return d.resolve_sensor_def("live_sensor")


def test_sensor_runs_on_new_lines_only_and_its_cursor_survives_a_restart(live):
    d, log, tmp, cfg = live
    resources = {"warehouse": WarehouseResource(config_path=str(cfg))}
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, resources=resources)
        first = _sensor(d)(ctx)
        assert len(first.run_requests) == 1
        cursor = first.cursor
        # A code-location restart: new definitions, the cursor Dagster stored for the sensor.
        again = build_definitions(str(cfg))
        skip = _sensor(again)(dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources))
        assert isinstance(skip, dg.SkipReason) and "no new lines" in skip.skip_message
        with open(log, "a") as fh:
            fh.write(lines(200, 3))
        grown = _sensor(again)(dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources))
        assert len(grown.run_requests) == 1 and grown.cursor != cursor


@pytest.mark.parametrize("status", [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTED])
def test_sensor_coalesces_while_a_micro_batch_is_in_flight(live, status):
    """(A queued run needs a code location's origin to exist: bench/live.py sees the daemon queue them for real.)"""
    d, log, tmp, cfg = live
    resources = {"warehouse": WarehouseResource(config_path=str(cfg))}
    with dg.instance_for_test() as instance:
        instance.add_run(dg.DagsterRun(job_name="live_job", run_id="0" * 36, status=status))
        result = _sensor(d)(dg.build_sensor_context(instance=instance, resources=resources))
    assert isinstance(result, dg.SkipReason) and "still queued or running" in result.skip_message


@pytest.mark.slow
def test_the_daily_run_reports_a_difference_from_the_live_tables(live):
    d, log, tmp, _ = live
    db = tmp / "data" / "warehouse.duckdb"
    day = NOW.date().isoformat()
    with dg.instance_for_test() as instance:
        assert _run(d, instance).success
        batch = d.resolve_job_def("ingestion_job")
        sel = dg.AssetSelection.groups("ingestion")
        same = batch.get_subset(asset_selection=set(sel.resolve(d.resolve_asset_graph())))
        first = same.execute_in_process(partition_key=day, instance=instance)
        checks = {e.check_name: e for e in first.get_asset_check_evaluations()}
        assert checks["live_tables_match"].passed
        assert checks["live_tables_match"].metadata["files_followed"].value == 1
        con = duckdb.connect(str(db))
        con.execute("DELETE FROM requests WHERE source_line = 7")  # a row the live tables lost
        con.close()
        second = same.execute_in_process(partition_key=day, instance=instance)
    checks = {e.check_name: e for e in second.get_asset_check_evaluations()}
    assert not checks["live_tables_match"].passed
    assert checks["live_tables_match"].metadata["files_differing"].value == 1


def test_the_as_of_tag_replays_a_past_day(write_config, tmp_path):
    # A log of three days ago, read as of 10:30 that day: the lines up to then are ingested into that day, a line
    # after 10:30 is "in the future" for that micro-batch; a bad tag fails the run with the tag named.
    from monitor_pipeline.defs.live.assets import AS_OF_TAG

    day = NOW.date() - dt.timedelta(days=3)
    at = dt.datetime.combine(day, dt.time(10, 30), dt.UTC)
    logs = tmp_path / "logs"
    logs.mkdir()
    rows = [
        {"timestamp": (at - dt.timedelta(minutes=30 - i)).isoformat(), "request_id": f"p-{i}", "model": "m1"}
        for i in range(20)
    ]
    (logs / f"requests-{day}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = write_config(
        [{"name": "gateway", "paths": [str(logs / "requests-{date}.jsonl")], "format": "jsonl", "live": True}]
    )
    job = build_definitions(str(cfg)).resolve_job_def("live_job")
    with dg.instance_for_test() as instance:
        ok = job.execute_in_process(instance=instance, tags={AS_OF_TAG: at.isoformat()}, raise_on_error=False)
        bad = job.execute_in_process(instance=instance, tags={AS_OF_TAG: "yesterday"}, raise_on_error=False)
    assert ok.success
    mats = {e.asset_key.to_user_string(): e.materialization.metadata for e in ok.get_asset_materialization_events()}
    assert mats["live_ingest"]["clean"].value == 20 and mats["live_ingest"]["ingested_at"].value == at.isoformat()
    assert mats["live_anomalies"]["closed_before"].value.startswith(f"{day}T10:25")
    con = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM requests WHERE partition_date = ?", [day]).fetchone() == (20,)
    finally:
        con.close()
    assert not bad.success
    failure = next(e for e in bad.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert "monitor_pipeline/as_of" in failure.event_specific_data.error.message
