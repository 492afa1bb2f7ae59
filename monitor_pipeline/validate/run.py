"""One suite over one day's table: the run with the partition's bounds, and what MLflow and the history keep of it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from monitor_pipeline.validate.suites import ValidationOutcome, validate

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite


def partition_parameters(day: dt.date) -> dict[str, pd.Timestamp]:
    """The `$partition_start` and `$partition_end` a suite may use: the day's UTC midnights."""
    start = pd.Timestamp(day, tz="UTC")
    return {"partition_start": start, "partition_end": start + pd.Timedelta(days=1)}


def run_suite(
    suite: ExpectationSuite,
    rows: pd.DataFrame,
    day: dt.date,
    total: int,
    sample_rows: int,
    *,
    whole_day: pd.DataFrame | None = None,
    docs_dir: Path | None = None,
) -> ValidationOutcome:
    """`suite` on the day's `rows` (a sample when the table holds more: `total`); the outcome counts all `total` rows.

    `whole_day`: every row of the day in the columns of the set-level expectations (`suites.whole_day_columns`),
    which run on it rather than on the sample; `docs_dir`: where to build the run's GX Data Docs."""
    outcome = validate(
        rows, suite, partition_parameters(day), sample_rows=sample_rows, whole_day=whole_day, docs_dir=docs_dir
    )
    outcome.rows = total
    return outcome


def failure_counts(outcome: ValidationOutcome) -> dict[str, int]:
    """How many critical and warning expectations failed."""
    return {"critical_failed": len(outcome.failed("critical")), "warning_failed": len(outcome.failed("warning"))}


def outcome_metrics(outcome: ValidationOutcome) -> dict[str, int]:
    """The run's numbers: rows, rows validated, failures by severity, and the unexpected count of each expectation."""
    return {
        "rows": outcome.rows,
        "validated_rows": outcome.validated_rows,
        "failed_critical": len(outcome.failed("critical")),
        "failed_warning": len(outcome.failed("warning")),
        **{f"unexpected.{e.type}.{e.column or 'table'}": e.unexpected_count or 0 for e in outcome.expectations},
    }


def outcome_rows(asset: str, outcome: ValidationOutcome) -> list[dict[str, object]]:
    """One history row per expectation of the outcome (`validated_at` now; unknown counts -1, unknown percents NaN)."""
    now = pd.Timestamp.now(tz="UTC")
    return [
        {
            "suite": outcome.suite,
            "asset": asset,
            "expectation": e.type,
            "column_name": e.column or "",
            "severity": e.severity,
            "success": bool(e.success),
            "unexpected_count": -1 if e.unexpected_count is None else int(e.unexpected_count),
            "unexpected_percent": float("nan") if e.unexpected_percent is None else float(e.unexpected_percent),
            "rows": int(outcome.rows),
            "validated_rows": int(outcome.validated_rows),
            "error": e.error or "",
            "validated_at": now,
        }
        for e in outcome.expectations
    ]
