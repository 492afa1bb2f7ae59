"""The configured rules, and the alert-worthy Findings of a scan (one per rule and scope value; the table
`security_findings` is written by monitor_pipeline.warehouse.security)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from monitor_pipeline.alerts.findings import SEVERITIES, Finding, Severity
from monitor_pipeline.security.config import load_rules

MISSING = "<missing>"  # the entity of findings about requests whose scope column was empty


def rules_path(cfg) -> Path:
    """The rules file of a pipeline config: security.rules_file, else the project's configs/rules.yaml."""
    from monitor_pipeline.settings.paths import PROJECT_ROOT

    f = cfg.security.rules_file
    if f is None:
        return PROJECT_ROOT / "configs" / "rules.yaml"
    p = Path(f).expanduser()
    return p if p.is_absolute() else cfg.root / p


def load_configured_rules(cfg) -> list:
    """The validated rules a pipeline config points at."""
    return load_rules(rules_path(cfg))


def to_alerts(
    findings: pd.DataFrame,
    partition: str | None,
    min_severity: str = "warning",
    source: str = "security_findings",
    run_id: str | None = None,
    mlflow_url: str | None = None,
) -> list[Finding]:
    """One Finding per rule and scope value at or above `min_severity` (a user's 500 flagged requests are one alert)."""
    keep = findings[findings["severity"].map(SEVERITIES.index) >= SEVERITIES.index(min_severity)]
    if keep.empty:
        return []
    keep = keep.assign(scope_value=keep["scope_value"].fillna(MISSING))
    out = []
    for (rule, value), g in keep.groupby(["rule", "scope_value"], sort=True):
        first = g.iloc[0]
        requests = int(g["request_id"].notna().sum())
        total = int(g["count"].sum())
        what = f"{requests} request(s)" if requests else f"count {total}"
        out.append(
            Finding(
                source=source,
                rule=f"security.{rule}",
                entity=str(value),
                severity=_severity(g["severity"].iloc[0]),
                title=f"{rule}: {first['scope']} {value} ({first['kind']}, {what})",
                value=float(g["value"].max()) if g["value"].notna().any() else float(total),
                threshold=None if pd.isna(first["threshold"]) else float(first["threshold"]),
                window_start=g["window_start"].min().to_pydatetime(),
                window_end=g["window_end"].max().to_pydatetime(),
                partition=partition,
                dagster_run_id=run_id,
                mlflow_run_url=mlflow_url,
                detail={
                    "kind": first["kind"],
                    "scope": first["scope"],
                    "findings": len(g),
                    "count": total,
                    "requests": requests,
                    "evidence": [str(e) for e in g["evidence"].head(3)],
                },
            )
        )
    return out


def _severity(value: object) -> Severity:
    """A rule's severity as a finding's (the rules file only allows the finding severities)."""
    if value not in SEVERITIES:
        raise ValueError(f"unknown severity {value!r}")
    return value  # type: ignore[return-value]  # narrowed by the membership test above
