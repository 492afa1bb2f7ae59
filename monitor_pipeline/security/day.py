"""A day's security scan: every enabled rule over the day's requests, its findings summarised per rule, and its alerts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from monitor_pipeline.alerts.findings import Finding
from monitor_pipeline.escape import markdown_table
from monitor_pipeline.security.scan import Runner, ScanResult, run_rules, summary_by_rule
from monitor_pipeline.security.store import to_alerts


def history_days(rules: Sequence[Any]) -> int:
    """Days before the partition that the enabled burst rules compare against (0 without any)."""
    return max([r.params.history_days for r in rules if r.kind == "burst" and r.enabled] or [0])


@dataclass
class SecurityReport:
    """The findings of one day's scan, with what was scanned and skipped."""

    day: dt.date
    rules: list
    scan: ScanResult

    @property
    def findings(self) -> pd.DataFrame:
        """One row per finding (FINDING_COLUMNS)."""
        return self.scan.findings

    @property
    def summary(self) -> pd.DataFrame:
        """Per rule: kind, severity, findings, distinct scope values, summed count."""
        return summary_by_rule(self.scan.findings)

    @property
    def by_rule(self) -> dict[str, int]:
        """Findings per enabled rule, zero included."""
        return {r.id: 0 for r in self.rules if r.enabled} | self.scan.counts_by_rule()

    def metrics(self) -> dict[str, float]:
        """Rows scanned, findings, text candidates, empty prompts, missing scope values, findings per rule."""
        stats = self.scan.stats
        return {
            "rows": stats["rows"],
            "findings": len(self.findings),
            "text_candidates": stats.get("text_candidates", 0),
            "empty_prompts": stats["empty_prompts"],
            **{f"missing.{k}": v for k, v in stats["missing"].items()},
            **{f"findings.{k}": v for k, v in self.by_rule.items()},
        }

    def record(self) -> dict[str, Any]:
        """The scan's stats and the per-rule summary, as one JSON-able object."""
        return {"stats": self.scan.stats, "by_rule": self.summary.to_dict(orient="records")}

    def alerts(self, min_severity: str, run_id: str | None = None, mlflow_url: str | None = None) -> list[Finding]:
        """One Finding per rule and scope value at or above `min_severity` (see security.store.to_alerts)."""
        return to_alerts(self.findings, self.day.isoformat(), min_severity, run_id=run_id, mlflow_url=mlflow_url)

    def markdown(self) -> str:
        """The per-rule summary as a table."""
        return markdown_table(
            ["rule", "kind", "severity", "findings", "scope values", "count"],
            [[r.rule, r.kind, r.severity, r.findings, r.scope_values, r["count"]] for _, r in self.summary.iterrows()],
        )


def scan_day(
    runner: Runner,
    views: tuple[str, str],
    day: dt.date,
    rules: list,
    baselines: Mapping[str, tuple[str, str]] | None = None,
) -> SecurityReport:
    """Every enabled rule over the day's requests; `views` names the day's relation and the bursts' history relation
    (warehouse.security.request_views), which `runner` reads; `baselines`: stored burst baselines by rule id."""
    requests, history = views
    return SecurityReport(day, rules, run_rules(runner, rules, requests, history, baselines))
