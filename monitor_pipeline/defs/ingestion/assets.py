"""Ingestion assets: raw logs -> clean tables + quarantined lines -> 5-minute and 1-hour windows."""

import datetime as dt
import json
from collections.abc import Iterator, Mapping

import dagster as dg
from dagster_pyspark import LazyPySparkResource

from monitor_pipeline.defs.partitions import daily_partitions
from monitor_pipeline.defs.tables import OWNERS, TABLE_KINDS, declared_metadata, stored_metadata
from monitor_pipeline.escape import markdown_table
from monitor_pipeline.ingest.day import (
    QUARANTINE_WARN_SHARE,
    Accounting,
    quarantine_share,
    quarantine_table,
    table_counts,
    totals,
)
from monitor_pipeline.ingest.engines.base import IngestResult
from monitor_pipeline.ingest.sources import DaySources, SourceSpec, resolve_sources
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.settings import PipelineConfig
from monitor_pipeline.warehouse.ingestion import quarantine_sample, stored_counts
from monitor_pipeline.warehouse.live import line_counts

GROUP = "ingestion"
LIVE_MATCH = "live_tables_match"
RAW_LOGS = dg.AssetSpec(
    "raw_logs",
    group_name=GROUP,
    description="Request logs and resource samples named by configs/pipeline.yaml `sources`.",
    kinds={"file"},
    owners=OWNERS,
)


def _table_asset(key: str, table: str, description: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        key,
        group_name=GROUP,
        deps=[RAW_LOGS],
        description=description,
        metadata={"table": table, **declared_metadata(table)},
        kinds=TABLE_KINDS,
        owners=OWNERS,
    )


CLEAN_REQUESTS = _table_asset(
    "clean_requests", "requests", "Typed, deduplicated requests of the day (DuckDB table `requests`)."
)
QUARANTINED_LINES = _table_asset(
    "quarantined_lines",
    "quarantine",
    "Every bad input line of the day with file, line, field and reason (table `quarantine`).",
)
REQUEST_WINDOWS = _table_asset(
    "request_windows",
    "request_windows",
    "Per model, 5-minute and 1-hour request aggregates: volume, errors, latency, tokens, users.",
)
RESOURCE_SAMPLES = _table_asset("resource_samples", "resources", "GPU/CPU samples of the day (table `resources`).")
RESOURCE_WINDOWS = _table_asset(
    "resource_windows", "resource_windows", "Per host and device, 5-minute and 1-hour mean/max of resource metrics."
)
ENGINE_WINDOWS = _table_asset(
    "engine_windows",
    "engine_windows",
    "Per serving engine (vLLM, SGLang, TGI), instance and model, 5-minute and 1-hour windows of the engine's own "
    "signals: requests waiting and running, KV-cache usage, preemptions, token throughput, TTFT/TPOT quantiles.",
)
OFFLINE_JOBS = _table_asset(
    "offline_jobs",
    "offline_log",
    "The seed's offline.log: batch size and training samples of offline jobs (table `offline_log`).",
)
OUTPUTS = (
    CLEAN_REQUESTS,
    QUARANTINED_LINES,
    REQUEST_WINDOWS,
    RESOURCE_SAMPLES,
    RESOURCE_WINDOWS,
    ENGINE_WINDOWS,
    OFFLINE_JOBS,
)


def _sources(cfg: PipelineConfig) -> Iterator[SourceSpec]:
    """The configured sources as ingestion reads them (a source's options are built when its turn comes)."""
    for s in cfg.sources:
        yield SourceSpec(s.name, tuple(cfg.source_paths(s)), s.format, s.model, s.read_options())


def _extra_metadata(result: IngestResult, summary: dict, sample: str) -> dict[str, dict[str, dg.MetadataValue]]:
    """The breakdowns beside the counts of clean_requests and quarantined_lines."""
    return {
        "clean_requests": {
            "by_reason": dg.MetadataValue.json(summary["by_reason"]),
            "by_skip": dg.MetadataValue.json(summary["by_skip"]),
            "by_table": dg.MetadataValue.json(summary["by_table"]),
            "warnings": dg.MetadataValue.json(result.warnings),
        },
        "quarantined_lines": {
            "by_reason": dg.MetadataValue.json(summary["by_reason"]),
            "sample": dg.MetadataValue.md(sample),
        },
    }


def _materialization(
    context: dg.AssetExecutionContext,
    mlflow: MlflowResource,
    key: str,
    common: dict,
    counts: Mapping[str, int],
    extra: dict,
    summary_doc: dict,
    table: dict[str, dg.MetadataValue],
) -> dg.MaterializeResult:
    """One output's MLflow run (its counts as metrics, the summary JSON where it has breakdowns) and materialization."""
    with mlflow.asset_run(context, name=key) as run:
        run.log_params({**common, "asset": key})
        run.log_metrics(dict(counts))
        if extra:
            run.log_dict(summary_doc, "ingestion_summary.json")
        links = run.metadata()
    numbers = {("dagster/row_count" if k == "row_count" else k): v for k, v in counts.items()}
    return dg.MaterializeResult(asset_key=key, metadata={**common, **numbers, **extra, **table, **links})


def _check_results(result: IngestResult, sources: DaySources, stored: dict[str, int]) -> Iterator[dg.AssetCheckResult]:
    """Nothing lost, every file read, and the quarantined share below the threshold."""
    lines = Accounting(read=result.read, stored=stored, other_partitions=result.other_partitions)
    yield dg.AssetCheckResult(
        check_name="nothing_lost",
        asset_key=CLEAN_REQUESTS.key,
        passed=lines.nothing_lost,
        metadata={
            "lines_in_files": result.read,
            "stored_plus_other_days": lines.stored_plus_other_days,
            "other_partitions": result.other_partitions,
            "stored_by_table": dg.MetadataValue.json(stored),
        },
    )
    yield dg.AssetCheckResult(
        check_name="every_file_read",
        asset_key=QUARANTINED_LINES.key,
        passed=not sources.refusals,
        metadata={"refused": dg.MetadataValue.json(list(sources.refusals)), "files": len(sources.files)},
    )
    share = quarantine_share(result)
    yield dg.AssetCheckResult(
        check_name="quarantine_share_below_threshold",
        asset_key=QUARANTINED_LINES.key,
        passed=share <= QUARANTINE_WARN_SHARE,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"share": share, "threshold": QUARANTINE_WARN_SHARE, "quarantined": result.quarantined},
    )


@dg.multi_asset(
    pool=WarehouseResource.POOL,
    specs=list(OUTPUTS),
    check_specs=[
        dg.AssetCheckSpec(
            "nothing_lost",
            asset=CLEAN_REQUESTS.key,
            blocking=True,
            description="Every line of the day's files is one clean row, one quarantined row, one "
            "skipped line (blank, header, comment) or another day's, counted from the files.",
        ),
        dg.AssetCheckSpec(
            "every_file_read",
            asset=QUARANTINED_LINES.key,
            description="No file of the day was refused (an unknown or unreadable format).",
        ),
        dg.AssetCheckSpec(
            "quarantine_share_below_threshold",
            asset=QUARANTINED_LINES.key,
            description=f"At most {QUARANTINE_WARN_SHARE:.0%} of the day's lines are quarantined.",
        ),
        dg.AssetCheckSpec(
            LIVE_MATCH,
            asset=CLEAN_REQUESTS.key,
            description="For `live: true` sources, re-reading the day gives what the live micro-batches stored for the "
            "lines they had followed (clean, quarantined, skipped per file); a difference is a finding.",
        ),
    ],
    partitions_def=daily_partitions,
    can_subset=False,
)
def ingestion(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    pyspark: LazyPySparkResource,
    mlflow: MlflowResource,
):
    """Parse, type, deduplicate and window one day of every configured source."""
    day = dt.date.fromisoformat(context.partition_key)
    cfg = warehouse.settings()
    sources = resolve_sources(_sources(cfg), day)
    request = sources.request(
        day,
        redact=cfg.security.redact,
        max_line_bytes=cfg.ingest.max_line_bytes,
        raw_cap=cfg.ingest.raw_cap,
        max_future_skew_s=cfg.ingest.max_future_skew_s,
    )
    live = [s.name for s in cfg.sources if s.live] if cfg.engine != "spark" else []
    if live:  # what the live micro-batches stored for the lines they followed, before the re-read replaces it
        with warehouse.connect(read_only=True) as con:
            live_before = line_counts(con, day, live)
    result = warehouse.engine(pyspark.spark_session if cfg.engine == "spark" else None).ingest(request)
    summary = result.summary()
    context.log.info("ingested %s: %s", day, json.dumps(totals(result)))
    for w in result.warnings:
        context.log.warning(w)
    with warehouse.connect() as con:  # read back independently of the engine (on Spark: its Parquet through views)
        stored = stored_counts(con, day, sources.names)
        sample = quarantine_table(quarantine_sample(con, day))
        tables = {spec.metadata["table"]: stored_metadata(con, spec.metadata["table"]) for spec in OUTPUTS}
    common = {"engine": cfg.engine, "partition": day.isoformat(), "files": len(sources.files)}
    counts, extra = table_counts(result), _extra_metadata(result, summary, sample)
    for spec in OUTPUTS:
        key = spec.key.to_user_string()
        yield _materialization(
            context,
            mlflow,
            key,
            common,
            counts[spec.metadata["table"]],
            extra.get(key, {}),
            {"summary": summary, "files": sources.paths},
            tables[spec.metadata["table"]],
        )
    yield from _check_results(result, sources, stored)
    if live:
        with warehouse.connect(read_only=True) as con:
            live_after = line_counts(con, day, live)
        yield _live_match(live_before, live_after)
    else:
        yield dg.AssetCheckResult(
            check_name=LIVE_MATCH, asset_key=CLEAN_REQUESTS.key, passed=True, metadata={"live_sources": 0}
        )


def _live_match(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]) -> dg.AssetCheckResult:
    """The live tables against the re-read, file by file, over the lines the live cursors had read."""
    diff = {
        label: {"live": counts, "re_read": after.get(label, {})}
        for label, counts in before.items()
        if {k: v for k, v in counts.items() if k != "lines_followed"}
        != {k: v for k, v in after.get(label, {}).items() if k != "lines_followed"}
    }
    rows = [(label, json.dumps(d["live"]), json.dumps(d["re_read"])) for label, d in diff.items()]
    return dg.AssetCheckResult(
        check_name=LIVE_MATCH,
        asset_key=CLEAN_REQUESTS.key,
        passed=not diff,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "files_followed": len(before),
            "files_differing": len(diff),
            "differences": dg.MetadataValue.md(markdown_table(["file", "live", "re-read"], rows) if rows else "none"),
        },
    )
