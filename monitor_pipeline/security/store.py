"""Where security findings go: the warehouse table `security_findings` and alert-worthy Findings (one per scope value)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from monitor_pipeline.alerts.findings import SEVERITIES, Finding
from monitor_pipeline.security.config import load_rules

TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS security_findings (partition_date DATE, rule VARCHAR, kind VARCHAR, scope VARCHAR, "
    "severity VARCHAR, scope_value VARCHAR, window_start TIMESTAMPTZ, window_end TIMESTAMPTZ, value DOUBLE, "
    "threshold DOUBLE, count BIGINT, request_id VARCHAR, evidence VARCHAR, created_at TIMESTAMPTZ)"
)
MISSING = "<missing>"  # the entity of findings about requests whose scope column was empty


def rules_path(cfg) -> Path:
    """The rules file of a pipeline config: security.rules_file, else the project's configs/rules.yaml."""
    from monitor_pipeline.settings import PROJECT_ROOT

    f = cfg.security.rules_file
    if f is None:
        return PROJECT_ROOT / "configs" / "rules.yaml"
    p = Path(f).expanduser()
    return p if p.is_absolute() else cfg.root / p


def load_configured_rules(cfg) -> list:
    """The validated rules a pipeline config points at."""
    return load_rules(rules_path(cfg))


def replace_partition(con, day: dt.date, findings: pd.DataFrame) -> int:
    """Make `findings` the rows of `day` in the DuckDB table security_findings (a re-run replaces, never appends)."""
    con.execute(TABLE_DDL)
    frame = findings.assign(partition_date=day, created_at=pd.Timestamp.now(tz="UTC"))
    cols = ["partition_date", "rule", "kind", "scope", "severity", "scope_value", "window_start", "window_end", "value",
            "threshold", "count", "request_id", "evidence", "created_at"]
    con.register("new_security_findings", frame[cols])
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM security_findings WHERE partition_date = ?", [day])
        con.execute(f"INSERT INTO security_findings SELECT {', '.join(cols)} FROM new_security_findings")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("new_security_findings")
    return len(frame)


def to_alerts(findings: pd.DataFrame, partition: str | None, min_severity: str = "warning", source: str = "security_findings",
              run_id: str | None = None, mlflow_url: str | None = None) -> list[Finding]:
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
        out.append(Finding(
            source=source, rule=f"security.{rule}", entity=str(value), severity=str(g["severity"].iloc[0]),
            title=f"{rule}: {first['scope']} {value} ({first['kind']}, {what})",
            value=float(g["value"].max()) if g["value"].notna().any() else float(total),
            threshold=None if pd.isna(first["threshold"]) else float(first["threshold"]),
            window_start=g["window_start"].min().to_pydatetime(), window_end=g["window_end"].max().to_pydatetime(),
            partition=partition, dagster_run_id=run_id, mlflow_run_url=mlflow_url,
            detail={"kind": first["kind"], "scope": first["scope"], "findings": len(g), "count": total,
                    "requests": requests, "evidence": [str(e) for e in g["evidence"].head(3)]}))
    return out
