"""The live loop: each micro-batch ingests the new lines of `live: true` sources, checks them (critical expectations
block), runs the security rules over the new requests and scores the 5-minute windows that closed since the last run.

Unpartitioned: a micro-batch is "what arrived since the last one", whatever its day. The hourly and nightly batch
runs of the daily partitions stay, as reconciliation (the ingestion asset's `live_tables_match` check).
Micro-batches log to Dagster only: one MLflow run a minute per asset would bury the runs people compare there.
"""

import datetime as dt

import dagster as dg
import pandas as pd

from monitor_pipeline.alerts.findings import FindingStore
from monitor_pipeline.defs.tables import OWNERS
from monitor_pipeline.escape import markdown_table
from monitor_pipeline.forecast.scoring import score_day, scoring_bounds
from monitor_pipeline.forecast.series import FREQ, window_series
from monitor_pipeline.ingest.follow import ingest_incremental
from monitor_pipeline.ingest.sources import SourceSpec, day_paths, resolve_days
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.security.day import history_days, scan_day
from monitor_pipeline.security.scan import DuckDBRunner
from monitor_pipeline.security.store import load_configured_rules
from monitor_pipeline.settings import PipelineConfig
from monitor_pipeline.tracking.champion_cache import ChampionCache
from monitor_pipeline.validate.report import failed_labels, results_table
from monitor_pipeline.validate.run import partition_parameters, run_suite
from monitor_pipeline.validate.sql_expectations import evaluate, supported
from monitor_pipeline.validate.suites import load_suite, read_suite
from monitor_pipeline.warehouse.forecasting import read_series
from monitor_pipeline.warehouse.live import (
    batch_counts,
    batch_requests,
    batch_span,
    get_until,
    latest_request,
    set_until,
)
from monitor_pipeline.warehouse.security import burst_baselines, recent_request_views

GROUP = "live"
INGEST, SECURITY, ANOMALIES = "live_ingest", "live_security", "live_anomalies"
NOTHING_LOST, CRITICAL = "live_nothing_lost", "live_requests_critical_expectations"
# A run tag that sets the micro-batch's "now" (ISO 8601 with a zone): replays of past days (bench/load.py --live) and
# catching up after an outage run the live steps as of a past time. Without it, now is the wall clock.
AS_OF_TAG = "monitor_pipeline/as_of"


def run_now(context: dg.AssetExecutionContext) -> dt.datetime:
    """The micro-batch's now: the run's `monitor_pipeline/as_of` tag, else the wall clock (UTC)."""
    tag = context.run.tags.get(AS_OF_TAG)
    if not tag:
        return dt.datetime.now(dt.UTC)
    try:
        at = dt.datetime.fromisoformat(tag)
    except ValueError:
        raise dg.Failure(f"run tag {AS_OF_TAG}={tag!r} is not an ISO 8601 time") from None
    if at.tzinfo is None:
        raise dg.Failure(f"run tag {AS_OF_TAG}={tag!r} needs a zone (e.g. +00:00)")
    return at.astimezone(dt.UTC)


def live_specs(cfg: PipelineConfig) -> list[SourceSpec]:
    """The configured sources marked `live: true`."""
    return [
        SourceSpec(s.name, tuple(cfg.source_paths(s)), s.format, s.model, s.read_options())
        for s in cfg.sources
        if s.live
    ]


def followed_days(cfg: PipelineConfig, now: dt.datetime) -> list[dt.date]:
    """The days whose files the live loop follows: today and `live.lookback_days` before it."""
    today = now.astimezone(dt.UTC).date()
    return [today - dt.timedelta(days=i) for i in range(cfg.live.lookback_days, -1, -1)]


@dg.asset(
    name=INGEST,
    group_name=GROUP,
    pool=WarehouseResource.POOL,
    owners=OWNERS,
    kinds={"duckdb"},
    description="The lines appended to the `live: true` sources since the last micro-batch, ingested into the same "
    "tables as the daily runs (cursors in `ingest_cursors`; rotation and truncation followed).",
    check_specs=[
        dg.AssetCheckSpec(
            NOTHING_LOST,
            asset=INGEST,
            blocking=True,
            description="Every new line read is one stored row, quarantined line or skipped line of this micro-batch.",
        ),
        dg.AssetCheckSpec(
            CRITICAL,
            asset=INGEST,
            blocking=True,
            description="The critical expectations of expectations/requests.json hold on the micro-batch's new requests.",
        ),
    ],
)
def live_ingest(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Ingest the new lines of every live source; check them before anything reads them."""
    cfg = warehouse.settings()
    if cfg.engine == "spark":
        raise dg.Failure("live mode follows local files with DuckDB; with engine: spark the daily runs ingest")
    now = run_now(context)
    days = followed_days(cfg, now)
    # A source whose file of the day does not exist yet (just after midnight, before its first line) has nothing to
    # read: not a failure of the micro-batch.
    specs = [s for s in live_specs(cfg) if day_paths([s], days)]
    if not specs:
        context.log.info("no source is marked live: true, or none has a file on the followed days yet")
        yield dg.MaterializeResult(metadata={"live_sources": 0, "new_lines": 0})
        yield dg.AssetCheckResult(check_name=NOTHING_LOST, passed=True)
        yield dg.AssetCheckResult(check_name=CRITICAL, passed=True)
        return
    sources = resolve_days(specs, days)
    request = sources.request(
        now.date(),
        redact=cfg.security.redact,
        now=now,
        max_line_bytes=cfg.ingest.max_line_bytes,
        raw_cap=cfg.ingest.raw_cap,
        max_future_skew_s=cfg.ingest.max_future_skew_s,
    )
    result = ingest_incremental(warehouse.engine(), request)
    for w in result.warnings:
        context.log.warning(w)
    with warehouse.connect(read_only=True) as con:
        stored = batch_counts(con, now)
        lo, hi = batch_span(con, now)
        rows = batch_requests(con, now) if result.clean else pd.DataFrame()
    yield dg.MaterializeResult(
        metadata={
            "live_sources": len(specs),
            "files": len(sources.files),
            "new_lines": result.read,
            "clean": result.clean,
            "quarantined": result.quarantined,
            "skipped": result.skipped,
            "new_bytes": result.new_bytes,
            "pending_bytes": result.pending_bytes,
            "windows_recomputed": result.windows_recomputed,
            "requests_from": str(lo or ""),
            "requests_to": str(hi or ""),
            "ingested_at": now.isoformat(),
            "by_reason": dg.MetadataValue.json(dict(result.by_reason)),
            "warnings": dg.MetadataValue.json(result.warnings),
        }
    )
    yield dg.AssetCheckResult(
        check_name=NOTHING_LOST,
        passed=sum(stored.values()) == result.read,
        metadata={"read": result.read, "stored": dg.MetadataValue.json(stored)},
    )
    yield _critical_check(cfg, rows)


def _critical_check(cfg: PipelineConfig, rows: pd.DataFrame) -> dg.AssetCheckResult:
    """The requests suite's critical expectations on the micro-batch's new rows, one day at a time (a suite's
    `$partition_start`/`$partition_end` are a day's): in DuckDB SQL with GX's semantics when the suite uses only the
    types validate.sql_expectations knows (GX's import alone is ~3 s of CPU a run process), else by GX."""
    if rows.empty:
        return dg.AssetCheckResult(check_name=CRITICAL, passed=True, metadata={"rows": 0})
    path = cfg.expectations_path() / "requests.json"
    suite = read_suite(path)
    by_sql = supported(suite, "critical")
    failed: list[str] = []
    tables = []
    for day, part in rows.groupby("partition_date"):
        d = pd.Timestamp(day).date()
        part = part.reset_index(drop=True)
        if by_sql:
            outcome = evaluate(suite, part, partition_parameters(d), "critical")
        else:
            outcome = run_suite(load_suite(path), part, d, len(part), cfg.validation.sample_rows)
        failed += [f"{d}: {label}" for label in failed_labels(outcome, "critical")]
        tables.append(f"**{d}**\n\n{results_table(outcome, 'critical')}")
    return dg.AssetCheckResult(
        check_name=CRITICAL,
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "rows": len(rows),
            "evaluated_by": "duckdb sql (GX semantics)" if by_sql else "great expectations",
            "failed_expectations": dg.MetadataValue.json(failed),
            "results": dg.MetadataValue.md("\n\n".join(tables)),
        },
    )


@dg.asset(
    name=SECURITY,
    group_name=GROUP,
    deps=[INGEST],
    pool=WarehouseResource.POOL,
    owners=OWNERS,
    kinds={"duckdb"},
    description="The security rules (configs/rules.yaml) over today's requests since the last micro-batch and the "
    "rules' windows before them; new alert-worthy findings go to the alert sensor's outbox.",
)
def live_security(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Scan the new requests with every rule; add what it finds to today's security findings."""
    cfg = warehouse.settings()
    rules = load_configured_rules(cfg)
    now = run_now(context)
    today = now.date()
    day_start = dt.datetime.combine(today, dt.time(), dt.UTC)
    with warehouse.connect() as con:
        until = get_until(con, SECURITY)
        latest = latest_request(con, today)
        if latest is None or (until is not None and latest <= until):
            return dg.MaterializeResult(metadata={"new_requests": 0})
        since = max((until or day_start) - dt.timedelta(seconds=cfg.live.security_lookback_s), day_start)
        views = recent_request_views(con, today, since, history_days(rules))
        # The burst rules' history statistics, stored once an hour instead of recomputed every micro-batch.
        baselines = burst_baselines(con, rules, views[1], f"{today}T{now.hour:02d}")
        report = scan_day(DuckDBRunner(con), views, today, rules, baselines)
        set_until(con, SECURITY, latest)
    alerts = report.alerts(cfg.security.alert_severity, run_id=context.run_id)
    new = FindingStore(cfg.findings_path()).add("security_findings", today.isoformat(), alerts)
    context.log.info("live security since %s: %d findings, %d new alert(s)", since, len(report.findings), new)
    return dg.MaterializeResult(
        metadata={
            "scanned_from": since.isoformat(),
            "scanned_to": str(latest),
            "rows_scanned": report.scan.stats["rows"],
            "findings": len(report.findings),
            "new_alerts": new,
            "by_rule": dg.MetadataValue.md(report.markdown()),
        }
    )


@dg.asset(
    name=ANOMALIES,
    group_name=GROUP,
    deps=[INGEST],
    pool=WarehouseResource.POOL,
    owners=OWNERS,
    kinds={"duckdb", "pytorch"},
    description="Every 5-minute window closed since the last micro-batch, scored under the champion forecasters "
    "(cached on local disk and per process, looked up in the registry every 10 minutes); events become findings.",
)
def live_anomalies(context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource):
    """Score the windows that closed since the last run; add the events they are part of to today's findings."""
    cfg = warehouse.settings()
    forecasting = cfg.forecasting
    now = run_now(context)
    step = pd.Timedelta(FREQ[forecasting.window]).to_pytimedelta()
    closed = pd.Timestamp(now - dt.timedelta(seconds=cfg.live.close_grace_s)).floor(step).to_pydatetime()
    today = (closed - step).date()  # the day of the last closed window
    with warehouse.connect() as con:
        until = get_until(con, ANOMALIES)
        if until is not None and closed <= until:
            return dg.MaterializeResult(metadata={"windows_closed": 0})
        start, _ = scoring_bounds(today, forecasting)
        series = window_series(read_series(con, forecasting, start, closed), forecasting.window, start, closed)
    cache = ChampionCache(cfg.data_path() / "champion_cache", mlflow.client)
    result = score_day(series, today, forecasting, cache.loader(today.isoformat()))
    first_new = until or dt.datetime.combine(today, dt.time(), dt.UTC)
    store = FindingStore(cfg.findings_path())
    # Series already named in today's messages: one that joins an open event gets a message of its own.
    announced = {s for f in store.of("anomalies", today.isoformat()) for s in [f.entity, *f.detail.get("series", [])]}
    findings = [
        f
        for f in result.findings("anomalies", today.isoformat(), context.run_id, None, announced)
        if f.window_end is None or f.window_end >= first_new
    ]
    new = store.add("anomalies", today.isoformat(), findings)
    with warehouse.connect() as con:
        set_until(con, ANOMALIES, closed)
    scored = result.windows
    fresh = scored[scored["window_start"] >= pd.Timestamp(first_new)] if len(scored) else scored
    flagged = fresh[fresh["severity"] != "none"] if len(fresh) else fresh
    context.log.info("live anomalies up to %s: %d new windows scored, %d new finding(s)", closed, len(fresh), new)
    return dg.MaterializeResult(
        metadata={
            "closed_before": closed.isoformat(),
            "new_windows_scored": len(fresh),
            "new_anomalous_windows": len(flagged),
            "new_findings": new,
            "registry_lookups": cache.registry_lookups,
            "events": dg.MetadataValue.md(result.markdown()),
            "flagged": dg.MetadataValue.md(
                markdown_table(
                    ["series", "window", "value", "severity"],
                    [(r.series, str(r.window_start), f"{r.value:.4g}", r.severity) for r in flagged.itertuples()],
                )
                if len(flagged)
                else "none"
            ),
            "models": dg.MetadataValue.json({k: v.get("model") for k, v in result.models.items()}),
            "skipped": dg.MetadataValue.json(result.skipped),
        }
    )
