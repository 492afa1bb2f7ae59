"""Stored burst baselines (the live loop's): the same findings as the history they summarise, computed once a key."""

from __future__ import annotations

import duckdb
import pandas as pd
from frames import requests_frame

from monitor_pipeline.security.config import parse_rules
from monitor_pipeline.security.scan import DuckDBRunner, run_rules
from monitor_pipeline.warehouse.security import burst_baselines


def _sorted(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings in a fixed order: SQL gives no order without ORDER BY."""
    return findings.sort_values(["rule", "scope_value"]).reset_index(drop=True)


def _tables(history: pd.DataFrame, today: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("req_df", today)
    con.execute("CREATE TABLE req AS SELECT * FROM req_df")
    con.register("hist_df", pd.concat([history, today]))
    con.execute("CREATE TABLE hist AS SELECT * FROM hist_df")
    return con


def test_a_stored_baseline_finds_what_the_history_finds_and_is_computed_once_per_key():
    users = [f"u{i}" for i in range(20)]
    hist = requests_frame([{"user_id": u, "t": -14400 + k * 300 + j} for u in users for k in range(48) for j in (0, 1)])
    today = requests_frame(
        [{"user_id": u, "t": j % 300} for u in users for j in range(60)]  # a service-wide surge
        + [{"user_id": "abuser", "t": j % 300} for j in range(1500)]
        + [{"user_id": "u3", "t": 600 + j} for j in range(400)]  # one known user far above their history
    )
    rules = parse_rules(
        {
            "rules": [
                {"id": "b", "kind": "burst", "scope": "user", "params": {"z": 15, "min_requests": 30}},
                {"id": "b_abs", "kind": "burst", "scope": "user", "params": {"z": 15, "service_relative": False}},
            ]
        }
    )
    con = _tables(hist, today)
    inline = _sorted(run_rules(DuckDBRunner(con), rules, "req", "hist").findings)
    stored = burst_baselines(con, rules, "hist", "2026-11-20T12")
    assert set(stored) == {"b", "b_abs"}
    cached = _sorted(run_rules(DuckDBRunner(con), rules, "req", "hist", stored).findings)
    pd.testing.assert_frame_equal(inline, cached)
    assert {"abuser", "u3"} <= set(cached[cached["rule"] == "b"]["scope_value"])
    # The same key is not recomputed (the history may change within the hour: the stored rows stay); a new key is,
    # and replaces the rule's older rows.
    con.execute("DELETE FROM hist")
    burst_baselines(con, rules, "hist", "2026-11-20T12")
    pd.testing.assert_frame_equal(_sorted(run_rules(DuckDBRunner(con), rules, "req", "hist", stored).findings), cached)
    burst_baselines(con, rules, "hist", "2026-11-20T13")
    keys = con.execute("SELECT DISTINCT split_part(baseline, '|', 2) FROM burst_baseline_population").fetchall()
    assert keys == [("2026-11-20T13",)]
