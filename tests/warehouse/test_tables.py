"""replace_partition: one partition's rows replaced, and a table that grows columns as later runs bring them."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from monitor_pipeline.warehouse.tables import replace_partition

D1, D2 = dt.date(2026, 11, 18), dt.date(2026, 11, 19)


def test_rerun_replaces_the_day_only():
    con = duckdb.connect()
    replace_partition(con, "t", pd.DataFrame({"series": ["a", "b"], "v": [1.0, 2.0]}), D1)
    replace_partition(con, "t", pd.DataFrame({"series": ["a"], "v": [3.0]}), D2)
    replace_partition(con, "t", pd.DataFrame({"series": ["c"], "v": [4.0]}), D1)
    assert con.execute("SELECT series, v, partition_date FROM t ORDER BY ALL").fetchall() == [
        ("a", 3.0, D2),
        ("c", 4.0, D1),
    ]


def test_a_later_run_may_bring_new_columns_and_fill_an_untyped_one():
    # The first day every model was skipped: no metric columns yet, and `skipped` the only text.
    con = duckdb.connect()
    replace_partition(
        con, "bt", pd.DataFrame([{"series": "s", "model": "lstm", "skipped": "too short", "note": None}]), D1
    )
    replace_partition(
        con, "bt", pd.DataFrame([{"series": "s", "model": "lstm", "mase": 0.7, "skipped": None, "note": "ok"}]), D2
    )
    rows = con.execute("SELECT partition_date, mase, skipped, note FROM bt ORDER BY 1").fetchall()
    assert rows == [(D1, None, "too short", None), (D2, 0.7, None, "ok")]


def test_empty_frame_clears_the_day():
    con = duckdb.connect()
    replace_partition(con, "t", pd.DataFrame({"v": [1.0]}), D1)
    assert replace_partition(con, "t", pd.DataFrame(), D1) == 0
    assert con.execute("SELECT count(*) FROM t").fetchall() == [(0,)]
