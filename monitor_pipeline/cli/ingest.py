"""`monitor-pipeline ingest`: log files into the warehouse outside Dagster (DuckDB or Spark; `--incremental` reads only
what was appended), the counts as JSON."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from monitor_pipeline.cli.common import OK, emit
from monitor_pipeline.cli.progress import bar

NAME = "ingest"
HELP = "ingest log files outside Dagster and print the counts as JSON"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """PATH..., --format, --engine, --data-dir, --source, --partition, --model, the reading options, --incremental."""
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="files, directories or globs (hdfs://, s3a:// on Spark)"
    )
    parser.add_argument("--format", default="auto", help="format name (see `formats`); default: detected per file")
    parser.add_argument("--engine", choices=["duckdb", "spark"], help="default: the config's engine")
    parser.add_argument("--data-dir", help="where the warehouse lives (default: the config's data_dir)")
    parser.add_argument("--source", help="source name for every file (default: each file is its own source)")
    parser.add_argument(
        "--partition", type=dt.date.fromisoformat, help="keep and replace only this UTC day (default: every day read)"
    )
    parser.add_argument("--model", default="unknown", help="model name for rows that carry none")
    parser.add_argument(
        "--field",
        action="append",
        default=[],
        metavar="COLUMN=PATH",
        help="read a canonical column from a CSV column or JSON path, e.g. "
        "input_tokens=response.body.usage.prompt_tokens (repeatable; default: the format's own mapping)",
    )
    parser.add_argument(
        "--timezone", help="IANA zone of times written without an offset (default: UTC, with a warning)"
    )
    parser.add_argument(
        "--time-format", default="auto", help="auto, iso, epoch_s, epoch_ms, epoch_us, epoch_ns or a strptime pattern"
    )
    parser.add_argument(
        "--origin",
        help="ISO time a relative clock counts from (e.g. BurstGPT's seconds; default: none, times absolute)",
    )
    parser.add_argument(
        "--at",
        dest="scraped_at",
        metavar="TIME",
        help="time of Prometheus samples without a timestamp: an ISO time, or `mtime` (the file's); default: none, "
        "such samples are quarantined",
    )
    parser.add_argument(
        "--incremental",
        action="store_true",
        help="read only what was appended since the last --incremental ingest of each file into this data dir "
        "(follows rotation and truncation; DuckDB engine, local files)",
    )
    parser.add_argument(
        "--unmapped",
        choices=["warn", "keep", "ignore"],
        default="warn",
        help="fields no column reads: name them in warnings (default), keep them in `extra`, or ignore",
    )


def run(args: argparse.Namespace) -> int:
    """Ingest the paths; one JSON summary on stdout, warnings on stderr."""
    from monitor_pipeline.errors import InputError
    from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
    from monitor_pipeline.ingest.request import build_request
    from monitor_pipeline.settings import load_config

    cfg = load_config(args.config)
    if args.data_dir:
        cfg = cfg.model_copy(update={"data_dir": str(Path(args.data_dir).resolve())})
    engine_name = args.engine or cfg.engine
    request = build_request(
        args.paths,
        args.format,
        source=args.source,
        partition=args.partition,
        defaults={"model": args.model},
        redact=cfg.security.redact,
        options=_read_options(args),
        max_line_bytes=cfg.ingest.max_line_bytes,
        raw_cap=cfg.ingest.raw_cap,
        max_future_skew_s=cfg.ingest.max_future_skew_s,
    )
    if args.incremental and (engine_name == "spark" or args.partition):
        raise InputError("--incremental appends new lines to every day they belong to: no --partition, no Spark")
    if engine_name == "spark":
        from monitor_pipeline.ingest.engines.spark import SparkEngine
        from monitor_pipeline.resources.spark import get_spark_session

        spark = get_spark_session(cfg.spark)
        try:
            result = SparkEngine(spark, cfg.spark.output or str(cfg.data_path() / "spark")).ingest(request)
        finally:
            spark.stop()
    else:
        engine = DuckDBEngine(
            cfg.warehouse_path(),
            cfg.duckdb.memory_limit,
            cfg.duckdb.threads,
            chunk_bytes=cfg.ingest.chunk_bytes,
            lock_timeout_s=cfg.duckdb.lock_timeout_s,
        )
        if args.incremental:
            from monitor_pipeline.ingest.follow import ingest_incremental

            result = ingest_incremental(engine, request)
        else:
            with bar(args, "ingest", bytes_=True) as progress:
                result = engine.ingest(request, progress)
    emit(result.summary())
    for w in result.warnings:
        print(f"monitor-pipeline: warning: {w}", file=sys.stderr)
    return OK


def _read_options(args: argparse.Namespace):
    """The ingest command's reading options, validated like a source's in configs/pipeline.yaml."""
    from pydantic import ValidationError

    from monitor_pipeline.errors import InputError
    from monitor_pipeline.settings import SourceConfig

    fields = {}
    for item in args.field:
        col, sep, path = item.partition("=")
        if not sep:
            raise InputError(f"--field {item!r}: expected COLUMN=PATH")
        fields[col.strip()] = path.strip()
    time = {"format": args.time_format, "timezone": args.timezone, "origin": args.origin, "scraped_at": args.scraped_at}
    try:
        src = SourceConfig(
            name="cli",
            paths=["-"],
            fields=fields,
            unmapped=args.unmapped,
            time={k: v for k, v in time.items() if v is not None},
        )
    except ValidationError as exc:
        msgs = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise InputError(f"ingest options: {msgs}") from None
    return src.read_options()
