"""`monitor-pipeline scan PATH...`: the security rules over log files, outside Dagster, as JSON lines."""

from __future__ import annotations

import argparse
import json
import sys

from monitor_pipeline.cli.common import CHECK_FAILED, OK, emit

NAME = "scan"
HELP = "run the security rules (rate, burst, overload, injection, PII, secrets) over log files; print findings as JSON lines"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """PATH..., --rules, --format, --no-redact, --fail-on."""
    parser.add_argument("paths", nargs="+", help="log files, directories or globs (any format `ingest` reads)")
    parser.add_argument("--rules", help="rules YAML (default: security.rules_file, else configs/rules.yaml)")
    parser.add_argument("--format", default="auto", help="input format (default: detected per file)")
    parser.add_argument(
        "--no-redact",
        action="store_true",
        help="keep text unredacted in the temporary database (evidence printed is redacted either way)",
    )
    parser.add_argument(
        "--fail-on",
        choices=["info", "warning", "critical"],
        help="exit 1 when any finding has at least this severity (default: exit 0 whatever is found)",
    )


def _record(row: dict) -> dict:
    out = {"request_id": row["request_id"]} if row["request_id"] is not None else {}
    out.update({k: row[k] for k in ("rule", "kind", "scope", "scope_value", "severity")})
    for k in ("window_start", "window_end"):
        out[k] = None if row[k] is None else row[k].isoformat()
    out.update(
        {"value": row["value"], "threshold": row["threshold"], "count": row["count"], "evidence": row["evidence"]}
    )
    return out


def run(args: argparse.Namespace) -> int:
    """Ingest PATHs into a temporary DuckDB with the project's formats, run the rules, print one JSON line a finding."""
    import math
    import tempfile
    from pathlib import Path

    from monitor_pipeline.alerts.findings import SEVERITIES
    from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
    from monitor_pipeline.ingest.engines.duckdb_connect import connect
    from monitor_pipeline.ingest.request import build_request
    from monitor_pipeline.security.config import load_rules
    from monitor_pipeline.security.scan import DuckDBRunner, run_rules
    from monitor_pipeline.security.store import rules_path
    from monitor_pipeline.settings import load_config

    cfg = load_config(args.config)
    rules = load_rules(args.rules or rules_path(cfg))
    request = build_request(
        args.paths,
        args.format,
        redact=cfg.security.redact and not args.no_redact,
        max_line_bytes=cfg.ingest.max_line_bytes,
        raw_cap=cfg.ingest.raw_cap,
        max_future_skew_s=cfg.ingest.max_future_skew_s,
    )
    with tempfile.TemporaryDirectory(prefix="monitor-scan-") as tmp:
        db = Path(tmp) / "scan.duckdb"
        ingested = DuckDBEngine(
            db, cfg.duckdb.memory_limit, cfg.duckdb.threads, lock_timeout_s=cfg.duckdb.lock_timeout_s
        ).ingest(request)
        con = connect(db, cfg.duckdb.memory_limit, cfg.duckdb.threads)
        try:
            result = run_rules(DuckDBRunner(con), rules, "requests")
        finally:
            con.close()
    frame = result.findings.sort_values(["window_start", "rule"], kind="stable").astype(object)
    for row in frame.to_dict(orient="records"):
        rec = _record({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()})
        emit(rec)
    summary = {
        "read": ingested.read,
        "clean": ingested.clean,
        "quarantined": ingested.quarantined,
        "redacted": ingested.redacted,
        "findings": len(frame),
        "by_rule": result.counts_by_rule(),
        **result.stats,
    }
    print(json.dumps({"summary": summary}), file=sys.stderr)
    if args.fail_on and any(SEVERITIES.index(s) >= SEVERITIES.index(args.fail_on) for s in frame["severity"]):
        return CHECK_FAILED
    return OK
