"""WarehouseResource.connect while another process holds the DuckDB file: waits (logged to the run), bounded by
duckdb.lock_timeout_s, then fails the run with the holder named."""

from __future__ import annotations

import dagster as dg
import pytest
from duckdb_lock import holding

from monitor_pipeline.errors import EngineError
from monitor_pipeline.resources.warehouse import WarehouseResource


@pytest.fixture
def warehouse(write_config):
    def _make(lock_timeout_s: float) -> WarehouseResource:
        cfg = write_config([], duckdb={"lock_timeout_s": lock_timeout_s})
        resource = WarehouseResource(config_path=str(cfg))
        with resource.connect():  # the file and its tables exist, so read-only holders can open it
            pass
        return resource

    return _make


@dg.asset
def counted(warehouse: WarehouseResource) -> int:
    """Writes the warehouse once."""
    with warehouse.connect() as con:
        con.execute("CREATE TABLE IF NOT EXISTS touched AS SELECT 1 AS x")
        return con.execute("SELECT count(*) FROM requests").fetchone()[0]


def test_a_run_waits_for_the_holder_and_logs_each_wait(warehouse):
    resource = warehouse(30)
    with holding(resource.settings().warehouse_path(), hold_s=1.5) as holder, dg.instance_for_test() as instance:
        result = dg.materialize([counted], resources={"warehouse": resource}, instance=instance)
        logs = [e.user_message for e in instance.all_logs(result.run_id) if "is locked by" in e.user_message]
    assert result.success and result.output_for_node("counted") == 0
    assert logs and f"(PID {holder.pid})" in logs[0] and "duckdb.lock_timeout_s" in logs[0]


def test_a_run_fails_with_the_holder_named_after_lock_timeout_s(warehouse):
    resource = warehouse(0.5)
    with holding(resource.settings().warehouse_path(), hold_s=120, read_only=True) as holder:
        result = dg.materialize([counted], resources={"warehouse": resource}, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    error = failure.event_specific_data.error
    while error.cause is not None:
        error = error.cause
    assert error.cls_name == "EngineError"
    assert f"(PID {holder.pid})" in error.message and "duckdb.lock_timeout_s: 0.5" in error.message


def test_read_only_connections_wait_too(warehouse):
    resource = warehouse(0.5)
    path = resource.settings().warehouse_path()
    with holding(path, hold_s=120):
        with pytest.raises(EngineError, match=r"locked by .* \(PID \d+\)"):
            with resource.connect(read_only=True):
                pass
    with holding(path, hold_s=120, read_only=True):  # readers share the file
        with resource.connect(read_only=True) as con:
            assert con.execute("SELECT count(*) FROM requests").fetchone() == (0,)
