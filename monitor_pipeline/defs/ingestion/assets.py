"""Ingestion assets: raw logs -> clean tables + quarantined lines -> 5-minute and 1-hour windows."""


import datetime as dt
import json

import dagster as dg
from dagster_pyspark import LazyPySparkResource

from monitor_pipeline.defs.partitions import daily_partitions
from monitor_pipeline.errors import InputError
from monitor_pipeline.escape import markdown_table
from monitor_pipeline.ingest.engines.base import IngestRequest, IngestResult, SourceFile
from monitor_pipeline.ingest.formats import refused
from monitor_pipeline.ingest.request import expand_paths, resolve_file
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.warehouse import WarehouseResource

GROUP = "ingestion"
RAW_LOGS = dg.AssetSpec("raw_logs", group_name=GROUP,
                        description="Request logs and resource samples named by configs/pipeline.yaml `sources`.")
OUTPUTS = {
    "clean_requests": "requests",
    "quarantined_lines": "quarantine",
    "request_windows": "request_windows",
    "resource_samples": "resources",
    "resource_windows": "resource_windows",
    "offline_jobs": "offline_log",
}
DESCRIPTIONS = {
    "clean_requests": "Typed, deduplicated requests of the day (DuckDB table `requests`).",
    "quarantined_lines": "Every bad input line of the day with file, line, field and reason (table `quarantine`).",
    "request_windows": "Per model, 5-minute and 1-hour request aggregates: volume, errors, latency, tokens, users.",
    "resource_samples": "GPU/CPU samples of the day (table `resources`).",
    "resource_windows": "Per host and device, 5-minute and 1-hour mean/max of resource metrics.",
    "offline_jobs": "The seed's offline.log: batch size and training samples of offline jobs (table `offline_log`).",
}
QUARANTINE_WARN_SHARE = 0.05


def _source_files(warehouse: WarehouseResource, day: dt.date) -> tuple[tuple[SourceFile, ...], list[str], list[str]]:
    """The day's files of every source with their formats, the warnings that raised, and the files refused.

    A file no format reads does not stop the run: its lines are quarantined with the refusal as their detail.
    """
    cfg = warehouse.settings()
    files, warnings, refusals = [], [], []
    for src in cfg.sources:
        options = src.read_options()
        paths = [p.replace("{date}", day.isoformat()) for p in cfg.source_paths(src)]
        for p in expand_paths(paths):
            try:
                fmt, notes = resolve_file(p, src.format, options)
            except InputError as exc:
                fmt, notes = refused(str(exc)), []
                refusals.append(str(exc))
            warnings.extend(notes)
            files.append(SourceFile(path=p, fmt=fmt, label=p, source=src.name, defaults=(("model", src.model),),
                                    options=options))
    return tuple(files), warnings, refusals


def _quarantine_sample(warehouse: WarehouseResource, day: dt.date) -> str:
    with warehouse.connect() as con:
        rows = con.execute(
            "SELECT source_file, line_no, reason, COALESCE(field, ''), detail FROM quarantine "
            "WHERE partition_date = ? ORDER BY source_file, line_no LIMIT 20", [day]).fetchall()
    return markdown_table(["file:line", "reason", "field", "detail"],
                          [(f"{f.rsplit('/', 1)[-1]}:{n}", r, fld, (d or "")[:120]) for f, n, r, fld, d in rows])


def _stored_counts(warehouse: WarehouseResource, day: dt.date, sources: set[str]) -> dict[str, int]:
    """Rows now in the warehouse for this day and these sources, read back independently of the engine."""
    out = {}  # on Spark the warehouse connection reads its Parquet output through views
    with warehouse.connect() as con:
        con.execute("CREATE OR REPLACE TEMP TABLE run_sources (s VARCHAR)")
        con.executemany("INSERT INTO run_sources VALUES (?)", [(s,) for s in sources])
        for table in ("requests", "resources", "online_log", "offline_log", "gauges", "quarantine", "skipped_lines"):
            out[table] = con.execute(
                f"SELECT count(*) FROM {table} WHERE partition_date = ? AND source IN (SELECT s FROM run_sources)",
                [day]).fetchone()[0]
    return out


@dg.multi_asset(
    pool=WarehouseResource.POOL,
    specs=[dg.AssetSpec(k, group_name=GROUP, deps=[RAW_LOGS], description=DESCRIPTIONS[k],
                        metadata={"table": t}) for k, t in OUTPUTS.items()],
    check_specs=[
        dg.AssetCheckSpec("nothing_lost", asset="clean_requests", blocking=True,
                          description="Every line of the day's files is one clean row, one quarantined row, one "
                                      "skipped line (blank, header, comment) or another day's, counted from the files."),
        dg.AssetCheckSpec("every_file_read", asset="quarantined_lines",
                          description="No file of the day was refused (an unknown or unreadable format)."),
        dg.AssetCheckSpec("quarantine_share_below_threshold", asset="quarantined_lines",
                          description=f"At most {QUARANTINE_WARN_SHARE:.0%} of the day's lines are quarantined."),
    ],
    partitions_def=daily_partitions,
    can_subset=False,
)
def ingestion(context: dg.AssetExecutionContext, warehouse: WarehouseResource, pyspark: LazyPySparkResource,
              mlflow: MlflowResource):
    """Parse, type, deduplicate and window one day of every configured source."""
    day = dt.date.fromisoformat(context.partition_key)
    cfg = warehouse.settings()
    files, warnings, refusals = _source_files(warehouse, day)
    request = IngestRequest(
        files=files, now=dt.datetime.now(dt.UTC), partition=day,
        max_line_bytes=cfg.ingest.max_line_bytes, raw_cap=cfg.ingest.raw_cap,
        max_future_skew_s=cfg.ingest.max_future_skew_s,
        defaults={"model": "unknown"}, redact=cfg.security.redact, warnings=tuple(warnings),
    )
    spark = pyspark.spark_session if cfg.engine == "spark" else None
    result: IngestResult = warehouse.engine(spark).ingest(request)
    summary = result.summary()
    context.log.info("ingested %s: %s", day, json.dumps({k: summary[k] for k in ("read", "clean", "quarantined",
                                                                                "skipped", "other_partitions")}))
    for w in result.warnings:
        context.log.warning(w)
    stored = _stored_counts(warehouse, day, {f.source for f in files})
    common = {"engine": cfg.engine, "partition": day.isoformat(), "files": len(files)}
    tables = summary["by_table"]
    by_asset = {
        "clean_requests": {"read": result.read, "clean": result.clean, "quarantined": result.quarantined,
                           "skipped": result.skipped, "other_partitions": result.other_partitions,
                           "dagster/row_count": tables.get("requests", {}).get("clean", 0)},
        "quarantined_lines": {"dagster/row_count": result.quarantined},
        "request_windows": {"windows_5m": result.windows_5m, "windows_1h": result.windows_1h,
                            "dagster/row_count": result.windows_5m + result.windows_1h},
        "resource_samples": {"dagster/row_count": tables.get("resources", {}).get("clean", 0)},
        "resource_windows": {"windows_5m": result.resource_windows_5m, "windows_1h": result.resource_windows_1h,
                             "dagster/row_count": result.resource_windows_5m + result.resource_windows_1h},
        "offline_jobs": {"dagster/row_count": tables.get("offline_log", {}).get("clean", 0)},
    }
    extra = {
        "clean_requests": {"by_reason": dg.MetadataValue.json(summary["by_reason"]),
                           "by_skip": dg.MetadataValue.json(summary["by_skip"]),
                           "by_table": dg.MetadataValue.json(tables),
                           "warnings": dg.MetadataValue.json(result.warnings)},
        "quarantined_lines": {"by_reason": dg.MetadataValue.json(summary["by_reason"]),
                              "sample": dg.MetadataValue.md(_quarantine_sample(warehouse, day))},
    }
    for key, numbers in by_asset.items():
        with mlflow.asset_run(context, name=key) as run:
            run.log_params({**common, "asset": key})
            run.log_metrics({k.replace("dagster/", ""): v for k, v in numbers.items()})
            if key in ("clean_requests", "quarantined_lines"):
                run.log_dict({"summary": summary, "files": [f.path for f in files]}, "ingestion_summary.json")
            links = run.metadata()
        yield dg.MaterializeResult(asset_key=key, metadata={**common, **numbers, **extra.get(key, {}), **links})

    stored_total = sum(stored.values()) + result.other_partitions
    yield dg.AssetCheckResult(
        check_name="nothing_lost", asset_key="clean_requests", passed=stored_total == result.read,
        metadata={"lines_in_files": result.read, "stored_plus_other_days": stored_total,
                  "other_partitions": result.other_partitions, "stored_by_table": dg.MetadataValue.json(stored)})
    yield dg.AssetCheckResult(
        check_name="every_file_read", asset_key="quarantined_lines", passed=not refusals,
        metadata={"refused": dg.MetadataValue.json(refusals), "files": len(files)})
    share = result.quarantined / result.read if result.read else 0.0
    yield dg.AssetCheckResult(
        check_name="quarantine_share_below_threshold", asset_key="quarantined_lines",
        passed=share <= QUARANTINE_WARN_SHARE, severity=dg.AssetCheckSeverity.WARN,
        metadata={"share": share, "threshold": QUARANTINE_WARN_SHARE, "quarantined": result.quarantined})
