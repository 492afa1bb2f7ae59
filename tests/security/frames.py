"""Small request frames in an in-memory DuckDB, and the rules engine run over them."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from monitor_pipeline.security.config import parse_rules
from monitor_pipeline.security.scan import DuckDBRunner, run_rules

T0 = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def requests_frame(rows: list[dict]) -> pd.DataFrame:
    """Canonical request columns; `t` (seconds after T0) sets the timestamp."""
    base = {
        "request_id": None,
        "user_id": "u1",
        "client_ip": "10.0.0.1",
        "model": "m1",
        "input_tokens": 10,
        "output_tokens": 5,
        "latency_ms": 100.0,
        "status": "ok",
        "prompt": "hello",
        "completion": "hi",
    }
    out = []
    for i, r in enumerate(rows):
        rec = {**base, **r}
        rec["timestamp"] = T0 + dt.timedelta(seconds=rec.pop("t", i))
        rec["request_id"] = rec["request_id"] or f"r{i}"
        out.append(rec)
    return pd.DataFrame(out)


@pytest.fixture
def scan():
    """scan(frame, rules_list, history=None) -> ScanResult over DuckDB."""

    def _scan(frame: pd.DataFrame, rules: list[dict], history: pd.DataFrame | None = None):
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        con.register("req_df", frame)
        con.execute("CREATE TABLE req AS SELECT * FROM req_df")
        con.register("hist_df", frame if history is None else pd.concat([history, frame]))
        con.execute("CREATE TABLE hist AS SELECT * FROM hist_df")
        return run_rules(DuckDBRunner(con), parse_rules({"rules": rules}), "req", "hist")

    return _scan
