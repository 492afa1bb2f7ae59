"""What people read of the validation: a suite's results and the day's scorecard as markdown, and their summary numbers."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from monitor_pipeline.escape import markdown_table
from monitor_pipeline.validate.suites import ValidationOutcome


def results_table(outcome: ValidationOutcome, severity: str) -> str:
    """Markdown of the expectations of one severity: type, column, success, unexpected count and share, a sample."""
    rows = []
    for e in outcome.expectations:
        if e.severity == severity:
            pct = "" if e.unexpected_percent is None else f"{e.unexpected_percent:.3g}"
            sample = ", ".join(e.sample)[:80] or (e.error or "")[:80]  # unexpected values are data: escaped as cells
            rows.append([e.type, e.column or "", e.success, e.unexpected_count or 0, pct, sample])
    return markdown_table(["expectation", "column", "success", "unexpected", "%", "sample"], rows)


def failed_labels(outcome: ValidationOutcome, severity: str) -> list[str]:
    """The failed expectations of one severity as `type(column)`."""
    return [f"{e.type}({e.column or ''})" for e in outcome.failed(severity)]


def scorecard_table(card: pd.DataFrame) -> str:
    """Markdown of the scorecard: per suite its rows, expectations, failures, pass rate now and the week before."""
    rows = []
    for r in card.itertuples(index=False):
        before = "" if r.pass_rate_before != r.pass_rate_before else f"{r.pass_rate_before:.0%}"  # NaN: no history
        rows.append(
            [
                r.suite,
                r.asset,
                r.rows,
                r.expectations,
                r.failed_critical,
                r.failed_warning,
                f"{r.pass_rate:.0%}",
                before,
                r.newly_failing,
            ]
        )
    return markdown_table(
        [
            "suite",
            "asset",
            "rows",
            "expectations",
            "failed critical",
            "failed warning",
            "pass rate",
            "before",
            "newly failing",
        ],
        rows,
    )


def scorecard_metrics(card: pd.DataFrame) -> dict[str, int | float]:
    """The scorecard summed: suites run, failed expectations by severity, the mean pass rate (0 with no suite)."""
    return {
        "suites": len(card),
        "failed_critical": int(card["failed_critical"].sum()),
        "failed_warning": int(card["failed_warning"].sum()),
        "pass_rate": float(card["pass_rate"].mean()) if len(card) else 0.0,
    }


def suites_not_run(card: pd.DataFrame, suites: Iterable[str]) -> list[str]:
    """The suites of `suites` with no outcome on the scorecard (their check was not selected, or errored), sorted."""
    return sorted(set(suites) - set(card["suite"]))
