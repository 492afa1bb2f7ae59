"""One suite over one day's rows: the partition's bounds, the table's row count, and what is reported of it."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from paths import ROOT
from validate_rows import request_rows

from monitor_pipeline.validate.report import failed_labels, results_table, scorecard_metrics, scorecard_table
from monitor_pipeline.validate.run import failure_counts, outcome_metrics, outcome_rows, run_suite
from monitor_pipeline.validate.suites import load_suite

DAY = dt.date(2026, 11, 20)
START = pd.Timestamp(DAY, tz="UTC")


def _rows(n: int = 20) -> pd.DataFrame:
    return request_rows(n, "min")


def test_a_row_of_another_day_fails_and_the_outcome_counts_the_whole_table():
    rows = _rows()
    rows.loc[3, "timestamp"] = START + pd.Timedelta(days=1)  # the partition ends at the next midnight
    out = run_suite(load_suite(ROOT / "expectations" / "requests.json"), rows, DAY, total=500, sample_rows=100)
    assert (out.rows, out.validated_rows, out.sampled) == (500, 20, True)
    assert failed_labels(out, "critical") == ["expect_column_values_to_be_between(timestamp)"]
    assert failure_counts(out) == {"critical_failed": 1, "warning_failed": 0}
    metrics = outcome_metrics(out)
    assert (
        metrics["rows"],
        metrics["failed_critical"],
        metrics["unexpected.expect_column_values_to_be_between.timestamp"],
    ) == (500, 1, 1)  # counted on the rows validated (the warehouse's sample is not scaled up)
    assert "| expect_column_values_to_be_between | timestamp | False | 1 | 5 |" in results_table(out, "critical")
    history = outcome_rows("clean_requests", out)
    assert len(history) == len(out.expectations) and {r["asset"] for r in history} == {"clean_requests"}


def test_an_empty_scorecard_reports_zeros():
    card = pd.DataFrame(
        columns=[
            "suite",
            "asset",
            "rows",
            "expectations",
            "failed_critical",
            "failed_warning",
            "pass_rate",
            "pass_rate_before",
            "newly_failing",
        ]
    )
    assert scorecard_metrics(card) == {"suites": 0, "failed_critical": 0, "failed_warning": 0, "pass_rate": 0.0}
    assert scorecard_table(card).count("\n") == 1  # the header only
