"""The validation history table: re-runs replace a suite's day, the scorecard says what newly fails."""

from __future__ import annotations

import datetime as dt

import duckdb

from monitor_pipeline.validate.run import outcome_rows
from monitor_pipeline.validate.scorecard import scorecard
from monitor_pipeline.validate.suites import ExpectationOutcome, ValidationOutcome
from monitor_pipeline.warehouse.validation import outcome_history as history
from monitor_pipeline.warehouse.validation import record_outcomes

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


def record(con, asset: str, outcome: ValidationOutcome, day: dt.date) -> int:
    return record_outcomes(con, outcome.suite, day, outcome_rows(asset, outcome))


def test_rerun_replaces_and_scorecard_flags_new_failures():
    con = duckdb.connect()
    for d in (DAY - dt.timedelta(days=2), DAY - dt.timedelta(days=1)):
        record(con, "clean_requests", _outcome(True), d)
    record(con, "clean_requests", _outcome(True), DAY)
    record(con, "clean_requests", _outcome(False), DAY)  # the re-run of the day replaces its rows
    df = history(con, DAY, 7)
    assert len(df) == 6
    card = scorecard(df, DAY).iloc[0]
    assert (card.failed_critical, card.failed_warning, card.pass_rate, card.pass_rate_before) == (0, 1, 0.5, 1.0)
    assert card.newly_failing == "expect_column_values_to_be_between(latency_ms)"
    assert (
        scorecard(history(con, DAY - dt.timedelta(days=1), 7), DAY - dt.timedelta(days=1)).iloc[0].newly_failing == ""
    )


def test_no_history_yet_is_an_empty_scorecard():
    con = duckdb.connect()
    assert history(con, DAY, 7).empty and scorecard(history(con, DAY, 7), DAY).empty
