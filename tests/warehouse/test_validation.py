"""The validation group's SQL: the rows a suite reads (sampled above a size), and the outcome history per day."""

from __future__ import annotations

import datetime as dt

import duckdb

from monitor_pipeline.validate.run import outcome_rows
from monitor_pipeline.validate.scorecard import scorecard
from monitor_pipeline.validate.suites import ExpectationOutcome, ValidationOutcome
from monitor_pipeline.warehouse.validation import outcome_history, partition_rows, record_outcomes

DAY = dt.date(2026, 11, 20)


def _outcome(latency_ok: bool) -> ValidationOutcome:
    return ValidationOutcome(
        suite="requests",
        rows=100,
        validated_rows=100,
        expectations=[
            ExpectationOutcome("expect_column_values_to_not_be_null", "request_id", "critical", True, 0, 0.0),
            ExpectationOutcome(
                "expect_column_values_to_be_between",
                "latency_ms",
                "warning",
                latency_ok,
                0 if latency_ok else 7,
                0.0 if latency_ok else 7.0,
                ["99999"],
            ),
        ],
    )


def _record(con: duckdb.DuckDBPyConnection, outcome: ValidationOutcome, day: dt.date) -> int:
    return record_outcomes(con, outcome.suite, day, outcome_rows("clean_requests", outcome))


def test_partition_rows_samples_above_the_limit():
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT range AS i, DATE '2026-11-20' AS partition_date FROM range(50)")
    con.execute("INSERT INTO t SELECT range, DATE '2026-11-19' FROM range(5)")
    df, total = partition_rows(con, "t", DAY, sample_rows=100)
    assert total == 50 and len(df) == 50
    df, total = partition_rows(con, "t", DAY, sample_rows=10)
    assert total == 50 and len(df) == 10 and df.equals(partition_rows(con, "t", DAY, sample_rows=10)[0])  # seeded


def test_rerun_replaces_and_scorecard_flags_new_failures():
    con = duckdb.connect()
    for d in (DAY - dt.timedelta(days=2), DAY - dt.timedelta(days=1)):
        _record(con, _outcome(True), d)
    _record(con, _outcome(True), DAY)
    assert _record(con, _outcome(False), DAY) == 2  # the re-run of the day replaces its rows
    df = outcome_history(con, DAY, 7)
    assert len(df) == 6
    card = scorecard(df, DAY).iloc[0]
    assert (card.failed_critical, card.failed_warning, card.pass_rate, card.pass_rate_before) == (0, 1, 0.5, 1.0)
    assert card.newly_failing == "expect_column_values_to_be_between(latency_ms)"
    assert len(outcome_history(con, DAY - dt.timedelta(days=3), 7)) == 0


def test_no_history_yet_is_an_empty_frame():
    assert outcome_history(duckdb.connect(), DAY, 7).empty
