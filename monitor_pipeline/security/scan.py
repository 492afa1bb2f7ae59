"""Run every rule over a requests relation and return one findings frame (window rules in SQL, text rules vectorised).

The same code serves DuckDB and Spark: a runner executes SQL text rendered by the engine's Dialect and hands back
Arrow. Text rules pre-filter in SQL with one union regex (RE2 on DuckDB, Java regex on Spark), so only candidate rows
travel to Python, where pyarrow's RE2 tells the detectors apart and the checksums are validated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from monitor_pipeline.ingest.engines.dialect import DUCKDB, SPARK, Dialect
from monitor_pipeline.security.config import MODEL_KINDS, SCOPE_COLUMNS, TEXT_KINDS, WINDOW_KINDS
from monitor_pipeline.security.redact import redact_array
from monitor_pipeline.security.text import as_strings, injection_hits, pii_hits, union_regex
from monitor_pipeline.security.window_rules import FINDING_COLUMNS, regex_matches, window_sql

EVIDENCE_CHARS = 200
INVISIBLE = "[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u180e\U000e0000-\U000e007f]"


class Runner(Protocol):
    """Executes SQL on an engine."""

    dialect: Dialect

    def fetch(self, sql: str) -> pa.Table:
        """The result of `sql` as Arrow."""
        ...


class DuckDBRunner:
    """A runner over a DuckDB connection."""

    dialect = DUCKDB

    def __init__(self, con) -> None:
        self.con = con

    def fetch(self, sql: str) -> pa.Table:
        """The result of `sql` as Arrow."""
        return self.con.sql(sql).to_arrow_table()


class SparkRunner:
    """A runner over a SparkSession (results are small: findings and candidate rows)."""

    dialect = SPARK

    def __init__(self, spark) -> None:
        self.spark = spark

    def fetch(self, sql: str) -> pa.Table:
        """The result of `sql` as Arrow."""
        return self.spark.sql(sql).toArrow()


@dataclass
class ScanResult:
    """The findings frame (FINDING_COLUMNS) and counts of what was scanned and skipped."""

    findings: pd.DataFrame
    stats: dict = field(default_factory=dict)

    def counts_by_rule(self) -> dict[str, int]:
        """Findings per rule id."""
        return {str(k): int(v) for k, v in self.findings.groupby("rule").size().items()}


def _text_findings(rule, cand: pa.Table, redacted: dict[str, pa.Array]) -> pd.DataFrame:
    """Per-request findings of one text rule over the candidate rows (vectorised; evidence from redacted text)."""
    n = cand.num_rows
    labels = np.full(n, "", dtype=object)
    value = np.zeros(n, dtype=np.float64)
    source = np.full(n, "", dtype=object)
    for fld in rule.params.fields:
        texts = as_strings(cand.column(fld))
        hits = (
            injection_hits(texts, rule.params.detectors)
            if rule.kind == "injection"
            else pii_hits(texts, rule.params.types)
        )
        for h in hits:
            if len(h.rows):
                labels[h.rows] = labels[h.rows] + f"{fld}:{h.detector}, "
                value[h.rows] += h.counts
                source[h.rows] = np.where(source[h.rows] == "", fld, source[h.rows])
    rows = np.flatnonzero(labels != "")
    if not len(rows):
        return empty_findings()
    sub = cand.take(pa.array(rows))
    idx = pa.array(rows)
    snippets = {f: pc.utf8_slice_codeunits(redacted[f].take(idx), 0, EVIDENCE_CHARS) for f in rule.params.fields}
    ev = np.where(
        source[rows] == rule.params.fields[0],
        snippets[rule.params.fields[0]].to_numpy(zero_copy_only=False),
        snippets[rule.params.fields[-1]].to_numpy(zero_copy_only=False),
    )
    ev = pc.replace_substring_regex(pa.array(ev, pa.large_string()), INVISIBLE, "<INVISIBLE>").to_numpy(
        zero_copy_only=False
    )
    ts = sub.column("timestamp").to_pandas()
    col = SCOPE_COLUMNS[rule.scope]
    return pd.DataFrame(
        {
            "rule": rule.id,
            "kind": rule.kind,
            "scope": rule.scope,
            "severity": rule.severity,
            "scope_value": sub.column(col).to_numpy(zero_copy_only=False),
            "window_start": ts,
            "window_end": ts,
            "value": value[rows],
            "threshold": np.nan,
            "count": np.ones(len(rows), dtype=np.int64),
            "request_id": sub.column("request_id").to_numpy(zero_copy_only=False),
            "evidence": [lab[:-2] + ": " + (e or "") for lab, e in zip(labels[rows], ev, strict=True)],
        }
    )


def run_rules(
    runner: Runner,
    rules: Sequence,
    requests: str,
    history: str | None = None,
    baselines: Mapping[str, tuple[str, str]] | None = None,
) -> ScanResult:
    """Every enabled rule over the relation `requests` (bursts compare against `history`, default `requests`, or
    against the stored baseline relations `baselines[rule.id]`: warehouse.security.burst_baselines)."""
    d = runner.dialect
    columns = set(runner.fetch(f"SELECT * FROM {requests} LIMIT 0").column_names)
    stats: dict = {
        "rows": runner.fetch(f"SELECT COUNT(*) AS n FROM {requests}").column(0)[0].as_py(),
        "skipped_rules": {},
    }
    nulls = ", ".join(
        f"SUM(CASE WHEN {c} IS NULL THEN 1 ELSE 0 END) AS {c}" for c in SCOPE_COLUMNS.values() if c in columns
    )
    empty = "SUM(CASE WHEN prompt IS NULL OR length(prompt) = 0 THEN 1 ELSE 0 END) AS empty_prompts"
    row = runner.fetch(f"SELECT {nulls}, {empty} FROM {requests}").to_pylist()[0]
    stats["empty_prompts"] = int(row.pop("empty_prompts") or 0)
    stats["missing"] = {k: int(v or 0) for k, v in row.items()}
    frames: list[pd.DataFrame] = []
    active = [r for r in rules if r.enabled]
    for rule in active:
        if SCOPE_COLUMNS[rule.scope] not in columns:
            stats["skipped_rules"][rule.id] = f"the requests carry no {SCOPE_COLUMNS[rule.scope]} column"
    active = [r for r in active if r.id not in stats["skipped_rules"]]
    for rule in (r for r in active if r.kind in WINDOW_KINDS):
        baseline = (baselines or {}).get(rule.id)
        frames.append(runner.fetch(window_sql(d, rule, requests, history, baseline)).to_pandas())
    text_rules = [r for r in active if r.kind in TEXT_KINDS]
    if text_rules:
        frames.extend(_scan_text(runner, text_rules, requests, columns, stats))
    model_rules = [r for r in active if r.kind in MODEL_KINDS]
    if model_rules:
        from monitor_pipeline.security.model_scan import scan_model

        frames.extend(scan_model(runner, model_rules, requests, columns, stats))
    frames = [f for f in frames if len(f)]
    for f in frames:
        for c in ("window_start", "window_end"):
            f[c] = pd.to_datetime(f[c], utc=True)
    out = (
        pd.concat([f.astype(empty_findings().dtypes.to_dict()) for f in frames], ignore_index=True)
        if frames
        else empty_findings()
    )
    return ScanResult(out[list(FINDING_COLUMNS)], stats)


def _scan_text(runner: Runner, rules: Sequence, requests: str, columns: set[str], stats: dict) -> list[pd.DataFrame]:
    d = runner.dialect
    fields = sorted({f for r in rules for f in r.params.fields})
    pii = sorted({t for r in rules if r.kind != "injection" for t in r.params.types})
    inj = sorted({k for r in rules if r.kind == "injection" for k in r.params.detectors})
    u = union_regex(pii, inj)
    scope_cols = sorted({SCOPE_COLUMNS[r.scope] for r in rules})
    where = " OR ".join(regex_matches(d, f, u) for f in fields if f in columns) or "false"
    cand = runner.fetch(
        f"SELECT request_id, timestamp, {', '.join(scope_cols)}, "
        f"{', '.join(f if f in columns else f'CAST(NULL AS STRING) AS {f}' for f in ('prompt', 'completion'))} "
        f"FROM {requests} WHERE {where}"
    )
    stats["text_candidates"] = cand.num_rows
    redacted = {f: redact_array(cand.column(f)) for f in fields}
    return [_text_findings(rule, cand, redacted) for rule in rules]


def summary_by_rule(findings: pd.DataFrame) -> pd.DataFrame:
    """Per rule: kind, severity, findings, distinct scope values, summed count."""
    if findings.empty:
        return pd.DataFrame(columns=["rule", "kind", "severity", "findings", "scope_values", "count"])
    g = findings.groupby(["rule", "kind", "severity"], dropna=False)
    return (
        g.agg(findings=("rule", "size"), scope_values=("scope_value", "nunique"), count=("count", "sum"))
        .reset_index()
        .sort_values("rule")
    )


def empty_findings() -> pd.DataFrame:
    """A findings frame with no rows and the right columns."""
    return pd.DataFrame(
        {
            c: pd.Series(dtype=t)
            for c, t in zip(
                FINDING_COLUMNS,
                ["object"] * 5 + ["datetime64[ns, UTC]"] * 2 + ["float64", "float64", "int64", "object", "object"],
                strict=True,
            )
        }
    )
