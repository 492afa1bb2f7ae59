"""Set-level expectations on every row of the day, never on the sample; GX Data Docs of each validation."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
from paths import ROOT
from validate_rows import request_rows

from monitor_pipeline.validate.run import run_suite
from monitor_pipeline.validate.suites import load_suite, needs_whole_day, validate, whole_day_columns
from monitor_pipeline.warehouse.validation import day_columns, partition_rows

DAY = dt.date(2026, 11, 20)
START = pd.Timestamp(DAY, tz="UTC")
PARAMS = {"partition_start": START, "partition_end": START + pd.Timedelta(days=1)}


def _day(n: int) -> pd.DataFrame:
    return request_rows(n, "s")


def test_set_level_expectations_are_told_apart_from_row_level_ones():
    assert needs_whole_day("expect_column_values_to_be_unique")
    assert needs_whole_day("expect_compound_columns_to_be_unique")
    assert needs_whole_day("expect_table_row_count_to_be_between")
    assert needs_whole_day("expect_column_max_to_be_between")
    assert not needs_whole_day("expect_column_values_to_be_between")
    assert not needs_whole_day("expect_column_values_to_not_be_null")
    assert not needs_whole_day("expect_table_columns_to_match_set")  # the schema: the sample has every column
    assert whole_day_columns(load_suite(ROOT / "expectations" / "requests.json")) == ["request_id"]


def test_a_duplicate_the_sample_misses_fails_on_the_whole_day():
    df = _day(5000)
    df.loc[4321, "request_id"] = "r17"  # one duplicate pair: a 200-row sample almost never holds both
    suite = load_suite(ROOT / "expectations" / "requests.json")
    sample = df.sample(n=200, random_state=3)
    assert sample["request_id"].is_unique  # the old run: the sample alone passes
    old = run_suite(suite, sample, DAY, total=len(df), sample_rows=200)
    assert not old.failed("critical")
    new = run_suite(suite, sample, DAY, total=len(df), sample_rows=200, whole_day=df[whole_day_columns(suite)])
    unique = next(e for e in new.expectations if e.type == "expect_column_values_to_be_unique")
    assert not unique.success and unique.set_level and unique.unexpected_count == 2  # both copies, not scaled
    assert sorted(unique.sample) == ["r17", "r17"]
    between = next(e for e in new.expectations if e.column == "latency_ms")
    assert between.success and not between.set_level
    assert [e.type for e in new.expectations] == [e.type for e in old.expectations]  # the suite's order kept
    assert (new.rows, new.validated_rows, new.sampled) == (5000, 200, True)


def test_an_in_memory_day_above_the_sample_size_checks_uniqueness_on_every_row():
    df = _day(3000)
    df.loc[2999, "request_id"] = "r5"
    out = validate(df, load_suite(ROOT / "expectations" / "requests.json"), PARAMS, sample_rows=500)
    unique = next(e for e in out.expectations if e.type == "expect_column_values_to_be_unique")
    assert out.sampled and not unique.success and unique.unexpected_count == 2


def test_the_warehouse_reads_the_named_columns_of_every_row():
    con = duckdb.connect()
    df = _day(300).assign(partition_date=DAY)
    con.register("src", df)
    con.execute("CREATE TABLE requests AS SELECT * FROM src")
    rows, total = partition_rows(con, "requests", DAY, sample_rows=50)
    assert (len(rows), total) == (50, 300)
    whole = day_columns(con, "requests", DAY, ["request_id", "no_such_column"])
    assert list(whole.columns) == ["request_id"] and len(whole) == 300
    assert list(day_columns(con, "requests", DAY, []).columns) == ["_row"]


def test_the_gx_data_docs_file_holds_the_results(tmp_path):
    df = _day(400)
    df.loc[7, "latency_ms"] = -1.0
    df.loc[9, "request_id"] = "r3"
    suite = load_suite(ROOT / "expectations" / "requests.json")
    docs = tmp_path / "docs"
    (docs / "stale.html").parent.mkdir(parents=True)
    (docs / "stale.html").write_text("an earlier run")
    out = run_suite(suite, df.iloc[:100], DAY, total=400, sample_rows=100, whole_day=df[["request_id"]], docs_dir=docs)
    index, rows_page, whole_page = out.data_docs
    assert index == docs / "index.html" and index.is_file() and not (docs / "stale.html").exists()  # replaced
    assert rows_page.suffix == whole_page.suffix == ".html" and whole_page.stem.endswith("whole_day")
    html = whole_page.read_text()
    assert "request_id" in html and "r3" in html  # the duplicate found on the whole day, as GX renders it
    assert "latency_ms" in rows_page.read_text() and "latency_ms" not in html
    assert rows_page.name in index.read_text() or rows_page.parent.name in index.read_text()
