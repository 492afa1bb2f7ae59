"""Runs wait their turn on the warehouse: the Dagster instance `make demo` / `make ui` write puts every asset and check
that uses it in one pool of one slot, across runs and processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import dagster as dg
import pytest
import yaml

from monitor_pipeline.demo import INSTANCE_MARK, INSTANCE_YAML, dagster_home
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.settings import load_config

# One run in its own process: an asset in the warehouse pool that writes the warehouse. The first to get in (it
# creates the table) says so in `holding` and keeps the connection until the test writes `release`; whoever comes
# after only has to get in and lets go at once.
RUN = textwrap.dedent(
    """
    import json, pathlib, sys, time
    import dagster as dg
    from monitor_pipeline.resources.warehouse import WarehouseResource

    config, signals = sys.argv[1], pathlib.Path(sys.argv[2])

    @dg.asset(pool=WarehouseResource.POOL)
    def writes_warehouse(warehouse: WarehouseResource) -> list:
        with warehouse.connect() as con:
            start = time.time()
            first = not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'turns'").fetchone()[0]
            con.execute("CREATE TABLE IF NOT EXISTS turns AS SELECT 1 AS x")
            if first:
                (signals / "holding").touch()
                deadline = time.monotonic() + 90
                while not (signals / "release").exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
            return [start, time.time()]

    with dg.DagsterInstance.get() as instance:
        result = dg.materialize([writes_warehouse], instance=instance, raise_on_error=False,
                                resources={"warehouse": WarehouseResource(config_path=config)})
        span = result.output_for_node("writes_warehouse") if result.success else None
        failed = [e.event_specific_data.error for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        error = failed[0].cause.message if failed and failed[0].cause else None
        print(json.dumps({"run_id": result.run_id, "success": result.success, "span": span, "error": error}))
    """
)


def _instance(write_config, tmp_path, monkeypatch):
    """The config (lock_timeout_s 0: a run that meets the lock fails at once) and the instance `make ui` would use."""
    cfg = write_config([], duckdb={"lock_timeout_s": 0})
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    home = dagster_home(load_config(cfg))
    with dg.DagsterInstance.get():  # create the instance's storage once, before two processes race to
        pass
    with WarehouseResource(config_path=str(cfg)).connect():
        pass
    return cfg, home


def _wait_for(condition, what: str, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def _second_run_while_the_first_holds(cfg, home, signals, second_waits) -> list[dict]:
    """Start a run; once its step holds the warehouse, start a second one; `second_waits(proc)` returns when the test
    has seen what it wants of the second (queued on the pool, or ended), then the first lets go. Both runs' records,
    in start order.

    The second starts once the first holds its slot, not in the same millisecond: Dagster's SQLite storage picks a
    free slot and then takes it in two statements (`SELECT ... FOR UPDATE` is a no-op there), so two claims within a
    few milliseconds of each other can both get in. In that window the warehouse's own lock wait
    (`duckdb.lock_timeout_s`, 120 s by default, 0 here) is what makes the second wait."""
    env = dict(os.environ, DAGSTER_HOME=str(home))

    def start():
        cmd = [sys.executable, "-c", RUN, str(cfg), str(signals)]
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)

    signals.mkdir()
    first = start()
    try:
        _wait_for(lambda: (signals / "holding").exists() or first.poll() is not None, "the first run's step")
        assert (signals / "holding").exists(), first.communicate()[0]
        second = start()
        second_waits(second)
    finally:
        (signals / "release").touch()
    out = [p.communicate(timeout=120)[0] for p in (first, second)]
    return [json.loads(o.strip().splitlines()[-1]) for o in out]


def test_the_instance_file_sets_a_one_slot_pool_and_frees_slots_of_dead_runs(write_config, tmp_path, monkeypatch):
    cfg, home = _instance(write_config, tmp_path, monkeypatch)
    conf = yaml.safe_load((home / "dagster.yaml").read_text())
    assert conf["concurrency"]["pools"]["default_limit"] == 1 and conf["telemetry"]["enabled"] is False
    assert conf["run_monitoring"]["free_slots_after_run_end_seconds"] > 0
    with dg.DagsterInstance.get() as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        assert instance.event_log_storage.supports_global_concurrency_limits


def test_an_older_instance_file_is_upgraded_and_a_file_of_your_own_is_kept(write_config, tmp_path, monkeypatch):
    cfg = load_config(write_config([]))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dh"))
    conf = tmp_path / "dh" / "dagster.yaml"
    conf.parent.mkdir()
    conf.write_text("telemetry:\n  enabled: false\n")  # what earlier versions wrote
    dagster_home(cfg)
    assert conf.read_text() == INSTANCE_YAML and conf.read_text().startswith(INSTANCE_MARK)
    own = "telemetry:\n  enabled: false\nconcurrency:\n  pools:\n    default_limit: 2\n"
    conf.write_text(own)
    dagster_home(cfg)
    assert conf.read_text() == own


@pytest.mark.slow
def test_a_run_that_starts_while_another_holds_the_warehouse_waits_its_turn(write_config, tmp_path, monkeypatch):
    """Two processes (say `make demo` and a scheduled run under `make ui`) run warehouse steps. With lock_timeout_s 0
    the second would fail on DuckDB's lock if it got in: it waits on the pool instead (the test sees it pending there
    while the first holds the file), then runs once the first has ended, and its log says it was blocked."""
    cfg, home = _instance(write_config, tmp_path, monkeypatch)
    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage

        def queued_on_the_pool(second: subprocess.Popen) -> None:
            _wait_for(
                lambda: (
                    second.poll() is not None or storage.get_concurrency_info(WarehouseResource.POOL).pending_run_ids
                ),
                "the second run to queue on the pool",
            )

        first, second = _second_run_while_the_first_holds(cfg, home, tmp_path / "signals", queued_on_the_pool)
        assert first["success"] and second["success"], (first, second)
        assert second["span"][0] >= first["span"][1], "the second run's step started while the first held the warehouse"
        logs = [e.message for e in instance.all_logs(second["run_id"])]
    assert any("blocked by limit for pool warehouse" in m for m in logs), logs


@pytest.mark.slow
def test_without_the_pool_limit_the_same_two_runs_race(write_config, tmp_path, monkeypatch):
    """The control: the same runs on an instance without `concurrency: pools` collide on the DuckDB file."""
    cfg, home = _instance(write_config, tmp_path, monkeypatch)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    first, second = _second_run_while_the_first_holds(cfg, home, tmp_path / "signals", lambda p: p.wait(timeout=120))
    assert first["success"] and not second["success"], (first, second)
    assert "EngineError: the DuckDB warehouse" in second["error"]


# The same asset as a code location the daemon loads (the first run holds the warehouse 3 s).
DEFS = textwrap.dedent(
    """
    import os, time
    import dagster as dg
    from monitor_pipeline.resources.warehouse import WarehouseResource

    @dg.asset(pool=WarehouseResource.POOL)
    def writes_warehouse(warehouse: WarehouseResource) -> None:
        with warehouse.connect() as con:
            first = not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'turns'").fetchone()[0]
            con.execute("CREATE TABLE IF NOT EXISTS turns AS SELECT 1 AS x")
            time.sleep(3 if first else 0)

    defs = dg.Definitions(assets=[writes_warehouse], jobs=[dg.define_asset_job("warehouse_job", [writes_warehouse])],
                          resources={"warehouse": WarehouseResource(config_path=os.environ["MONITOR_CONFIG"])})
    """
)


@pytest.mark.slow
def test_the_daemon_keeps_the_second_launched_run_queued_until_the_first_ends(write_config, tmp_path, monkeypatch):
    """Two runs submitted to the queue (as a schedule, a sensor or the UI's Launch button do), then `dagster-daemon`
    (what `dagster dev` runs): the second stays QUEUED while the first runs, then runs."""
    from servers import stop_groups

    cfg, home = _instance(write_config, tmp_path, monkeypatch)
    (tmp_path / "defs.py").write_text(DEFS)
    ws = tmp_path / "workspace.yaml"
    ws.write_text(
        yaml.safe_dump(
            {"load_from": [{"python_file": {"relative_path": "defs.py", "working_directory": str(tmp_path)}}]}
        )
    )
    env = dict(os.environ, DAGSTER_HOME=str(home), MONITOR_CONFIG=str(cfg))
    bindir = os.path.dirname(sys.executable)
    launch = [os.path.join(bindir, "dagster"), "job", "launch", "-w", str(ws), "-j", "warehouse_job"]
    for p in [
        subprocess.Popen(launch, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(2)
    ]:
        assert p.wait(timeout=60) == 0, p.stderr.read()
    daemon = subprocess.Popen(
        [os.path.join(bindir, "dagster-daemon"), "run", "-w", str(ws)],
        env=env,
        cwd=tmp_path,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seen: list[tuple[str, ...]] = []
    try:
        with dg.DagsterInstance.get() as instance:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                runs = sorted(instance.get_runs(), key=lambda r: r.run_id)
                state = tuple(r.status.value for r in runs)
                if not seen or seen[-1] != state:
                    seen.append(state)
                if all(s in ("SUCCESS", "FAILURE", "CANCELED") for s in state):
                    break
                time.sleep(0.2)
            records = instance.get_run_records()
    finally:
        stop_groups([daemon])
    assert seen[-1] == ("SUCCESS", "SUCCESS"), seen
    assert any(sorted(s) == ["QUEUED", "STARTED"] for s in seen), seen  # one ran while the other waited its turn
    first, second = sorted(records, key=lambda r: r.start_time)
    assert second.start_time >= first.end_time, "the second run started before the first had ended"


@pytest.mark.parametrize("run_kind", ["asset", "check"])
def test_every_asset_and_check_that_uses_the_warehouse_is_in_its_pool(write_config, run_kind):
    from monitor_pipeline.definitions import build_definitions

    repo = build_definitions(str(write_config([]))).get_repository_def()
    defs = repo.assets_defs_by_key.values() if run_kind == "asset" else repo.asset_checks_defs_by_key.values()
    nodes = {d.node_def.name: d.node_def for d in defs if d.is_executable}
    users = {name: n.pool for name, n in nodes.items() if "warehouse" in n.required_resource_keys}
    assert users, "no node uses the warehouse?"
    assert {name: pool for name, pool in users.items() if pool != WarehouseResource.POOL} == {}
    if run_kind == "asset":
        assert {"ingestion", "drift_report", "forecast_champions", "security_findings", "live_ingest"} <= set(users)
