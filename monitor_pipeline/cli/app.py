"""The `monitor-pipeline` command: demo, ingest, simulate, collect, ui, formats, config."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import traceback
from pathlib import Path

from monitor_pipeline.cli import command_modules
from monitor_pipeline.errors import MonitorError

for _k, _v in (("DAGSTER_DISABLE_TELEMETRY", "1"), ("MLFLOW_DISABLE_TELEMETRY", "true"), ("DO_NOT_TRACK", "1")):
    os.environ.setdefault(_k, _v)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="monitor-pipeline", description="Production monitoring for LLM services.")
    p.add_argument("--config", help="pipeline YAML (default: MONITOR_CONFIG or configs/pipeline.yaml)")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="simulate a service, materialize every partition, say where to look")
    demo.add_argument("--days", type=int, default=3)
    demo.add_argument("--requests-per-day", type=int, default=100_000)
    demo.add_argument("--seed", type=int, default=0)
    ing = sub.add_parser("ingest", help="ingest log files outside Dagster and print the counts as JSON")
    ing.add_argument("paths", nargs="+", metavar="PATH", help="files, directories or globs (hdfs://, s3a:// on Spark)")
    ing.add_argument("--format", default="auto", help="format name (see `formats`); default: detected per file")
    ing.add_argument("--engine", choices=["duckdb", "spark"], help="default: the config's engine")
    ing.add_argument("--data-dir", help="where the warehouse lives (default: the config's data_dir)")
    ing.add_argument("--source", help="source name for every file (default: each file is its own source)")
    ing.add_argument("--partition", type=dt.date.fromisoformat, help="keep and replace only this UTC day")
    ing.add_argument("--model", default="unknown", help="model name for rows that carry none")
    ing.add_argument(
        "--field",
        action="append",
        default=[],
        metavar="COLUMN=PATH",
        help="read a canonical column from a CSV column or JSON path, e.g. "
        "input_tokens=response.body.usage.prompt_tokens (repeatable)",
    )
    ing.add_argument("--timezone", help="IANA zone of times written without an offset (default: UTC, with a warning)")
    ing.add_argument(
        "--time-format", default="auto", help="auto, iso, epoch_s, epoch_ms, epoch_us, epoch_ns or a strptime pattern"
    )
    ing.add_argument("--origin", help="ISO time a relative clock counts from (e.g. BurstGPT's seconds)")
    ing.add_argument(
        "--at",
        dest="scraped_at",
        metavar="TIME",
        help="time of Prometheus samples without a timestamp: an ISO time, or `mtime` (the file's)",
    )
    ing.add_argument(
        "--incremental",
        action="store_true",
        help="read only what was appended since the last --incremental ingest of each file into this data dir "
        "(follows rotation and truncation; DuckDB engine, local files)",
    )
    ing.add_argument(
        "--unmapped",
        choices=["warn", "keep", "ignore"],
        default="warn",
        help="fields no column reads: name them in warnings (default), keep them in `extra`, or ignore",
    )
    sim = sub.add_parser("simulate", help="write days of simulated LLM-service traffic with labeled incidents")
    sim.add_argument("--out", required=True, help="output directory")
    sim.add_argument("--days", type=int, help="days to write (default 2; not with --live)")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--requests-per-day", type=int, help="mean requests a weekday (default 100000; not with --live)")
    sim.add_argument(
        "--start",
        help="first UTC day (default 2026-11-17); with --live the first simulated time, ISO UTC "
        "(default: now - minutes x (1 - 1/speed), so that the last line is written now)",
    )
    sim.add_argument("--no-incidents", action="store_true", help="a quiet service: no injected incidents")
    sim.add_argument(
        "--live",
        action="store_true",
        help="append to the files in real time (simulated time never ahead of the wall clock) until --minutes pass",
    )
    sim.add_argument("--rate", type=float, help="--live: requests per second (Poisson arrivals)")
    sim.add_argument("--minutes", type=float, help="--live: simulated minutes to write")
    sim.add_argument("--speed", type=float, default=1.0, help="--live: simulated seconds per wall second (default 1)")
    sim.add_argument(
        "--incident",
        action="append",
        default=[],
        metavar="KIND@MIN",
        help="--live: an incident of KIND MIN simulated minutes after the start (repeatable): latency_regression, "
        "error_burst, traffic_spike, abusive_user, gpu_memory_leak, kv_cache_saturation, prompt_length_drift",
    )
    sim.add_argument("--rotate", type=float, metavar="MIN", help="--live: rotate the requests file every MIN minutes")
    sim.add_argument(
        "--rotate-mode",
        choices=["rename", "copytruncate", "gzip"],
        default="rename",
        help="--live: as logrotate: rename to .1 (default), copy to .1 and truncate, or rename and compress to .1.gz",
    )
    col = sub.add_parser(
        "collect",
        help="sample CPU/memory and every GPU into resources JSON lines, or scrape Prometheus /metrics endpoints",
        description="Without --scrape: sample this host's CPU, memory and GPUs into resources JSON lines. With "
        "--scrape: append timestamped scrapes of /metrics endpoints (vLLM, SGLang, TGI, DCGM exporter) to a file "
        "that `ingest --format prometheus` reads.",
    )
    col.add_argument(
        "--interval", type=float, default=10.0, help="seconds between samples or scrapes (default: %(default)s)"
    )
    col.add_argument("--count", type=int, default=0, help="samples or scrape rounds to take (default: 0, until Ctrl-C)")
    col.add_argument(
        "--out",
        required=True,
        help="file to append to: resources JSON lines, or with --scrape Prometheus text (ingest --format prometheus)",
    )
    col.add_argument(
        "--scrape",
        action="append",
        metavar="URL",
        help="scrape this Prometheus /metrics URL instead of sampling the host (repeatable; each sample gets "
        'instance="host:port" unless it has one)',
    )
    col.add_argument(
        "--timeout",
        type=float,
        help="seconds one scrape may take (default: the interval, but at least 1 and at most 10)",
    )
    ui = sub.add_parser("ui", help="serve the Dagster UI on :3000 and the MLflow UI on :5000 (Ctrl-C stops both)")
    ui.add_argument("--dagster-port", type=int, default=3000)
    ui.add_argument("--mlflow-port", type=int, default=5000)
    pr = sub.add_parser("probe", help="send golden probe sets to a target and print pass rates as JSON lines")
    pr.add_argument(
        "--set",
        dest="sets",
        action="append",
        metavar="NAME[@vN]",
        help="probe set under the golden dir (repeatable; default: the config's probes.sets)",
    )
    pr.add_argument(
        "--target",
        help="`local` (embedded MiniLM) or an OpenAI-compatible base URL (default: the config's probes.target)",
    )
    pr.add_argument("--model", help="model name for a URL target")
    pr.add_argument("--api-key-env", help="env var holding the API key (default OPENAI_API_KEY)")
    pr.add_argument("--failures", action="store_true", help="also print each failed probe")
    sub.add_parser("formats", help="list the log formats")
    sub.add_parser("config", help="print the effective configuration")
    for mod in command_modules():
        mod.add_arguments(sub.add_parser(mod.NAME, help=mod.HELP))
    return p


def _ingest(args: argparse.Namespace) -> int:
    from monitor_pipeline.errors import InputError
    from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
    from monitor_pipeline.ingest.request import build_request
    from monitor_pipeline.settings import load_config

    cfg = load_config(args.config)
    if args.data_dir:
        cfg = cfg.model_copy(update={"data_dir": str(Path(args.data_dir).resolve())})
    engine_name = args.engine or cfg.engine
    limits = dict(
        max_line_bytes=cfg.ingest.max_line_bytes,
        raw_cap=cfg.ingest.raw_cap,
        max_future_skew_s=cfg.ingest.max_future_skew_s,
    )
    request = build_request(
        args.paths,
        args.format,
        source=args.source,
        partition=args.partition,
        defaults={"model": args.model},
        redact=cfg.security.redact,
        options=_read_options(args),
        **limits,
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
            result = engine.ingest(request)
    print(json.dumps(result.summary()))
    for w in result.warnings:
        print(f"monitor-pipeline: warning: {w}", file=sys.stderr)
    return 0


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


def _probe(args: argparse.Namespace) -> int:
    from monitor_pipeline.drift_quality.probes.endpoints import build_target
    from monitor_pipeline.drift_quality.probes.runner import run_probes
    from monitor_pipeline.drift_quality.probes.sets import load_probe_set
    from monitor_pipeline.settings import load_config

    cfg = load_config(args.config)
    t = cfg.probes.target
    if args.target == "local":
        t = t.model_copy(update={"kind": "local"})
    elif args.target:
        t = t.model_copy(
            update={"kind": "openai", "base_url": args.target, "model": args.model or t.model or "default"}
        )
    if args.api_key_env:
        t = t.model_copy(update={"api_key_env": args.api_key_env})
    target = build_target(t)
    for name in args.sets or cfg.probes.sets:
        run = run_probes(load_probe_set(cfg.golden_path(), name), target, cfg.probes.min_similarity)
        print(json.dumps(run.summary()))
        if args.failures:
            for r in run.results[~run.results["passed"]].to_dict("records"):
                print(json.dumps({"failed": r["id"], "expected": r["expected"], "answer": r["answer"][:200]}))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; user errors print one line and exit 2 (tracebacks with --debug)."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "ingest":
            return _ingest(args)
        if args.command == "demo":
            from monitor_pipeline.demo import run_demo

            run_demo(args.config, days=args.days, requests_per_day=args.requests_per_day, seed=args.seed)
            return 0
        if args.command == "simulate":
            from monitor_pipeline.errors import InputError
            from monitor_pipeline.simulate import DEFAULT_START, simulate
            from monitor_pipeline.simulate.live import parse_start, simulate_live

            live_only = {
                "--rate": args.rate,
                "--minutes": args.minutes,
                "--incident": args.incident,
                "--rotate": args.rotate,
            }
            batch_only = {
                "--days": args.days,
                "--requests-per-day": args.requests_per_day,
                "--no-incidents": args.no_incidents,
            }
            if args.live:
                wrong = [k for k, v in batch_only.items() if v not in (None, False)]
                if wrong or args.rate is None or args.minutes is None:
                    raise InputError(
                        f"simulate --live: needs --rate and --minutes, and takes no {', '.join(batch_only)}"
                    )
                summary = simulate_live(
                    args.out,
                    args.rate,
                    args.minutes,
                    speed=args.speed,
                    incidents=args.incident,
                    seed=args.seed,
                    start=parse_start(args.start) if args.start else None,
                    rotate_minutes=args.rotate or 0,
                    rotate_mode=args.rotate_mode,
                    notice=lambda m: print(f"monitor-pipeline: {m}", file=sys.stderr),
                )
                print(json.dumps(summary))
                return 0
            wrong = [k for k, v in live_only.items() if v not in (None, [])]
            if wrong:
                raise InputError(f"simulate: {', '.join(wrong)} only apply with --live")
            try:
                start = dt.date.fromisoformat(args.start) if args.start else DEFAULT_START
            except ValueError:
                raise InputError(f"simulate --start {args.start!r}: expected a UTC day such as 2026-11-17") from None
            summary = simulate(
                args.out,
                days=2 if args.days is None else args.days,
                seed=args.seed,
                requests_per_day=100_000 if args.requests_per_day is None else args.requests_per_day,
                start=start,
                with_incidents=not args.no_incidents,
            )
            print(json.dumps(summary))
            return 0
        if args.command == "collect" and args.scrape:
            from monitor_pipeline.scrape import scrape

            scraped = scrape(
                args.scrape,
                args.interval,
                args.count,
                args.out,
                notice=lambda m: print(f"monitor-pipeline: {m}", file=sys.stderr),
                timeout_s=args.timeout,
            )
            print(json.dumps(scraped.as_dict()))
            return 0 if scraped.ok or not scraped.failed else 1  # 1: not one scrape succeeded
        if args.command == "collect":
            from monitor_pipeline.collect import collect

            rows = collect(args.interval, args.count, args.out, notice=lambda m: print(m, file=sys.stderr))
            print(json.dumps({"rows": rows, "out": args.out}))
            return 0
        if args.command == "ui":
            from monitor_pipeline.ui import run_ui

            return run_ui(args.config, dagster_port=args.dagster_port, mlflow_port=args.mlflow_port)
        if args.command == "probe":
            return _probe(args)
        if args.command == "formats":
            from monitor_pipeline.ingest.formats import FORMATS

            for name, f in sorted(FORMATS.items()):
                print(f"{name:<16} -> {f.table:<12} {f.description}")
            return 0
        for mod in command_modules():
            if args.command == mod.NAME:
                return mod.run(args)
        if args.command == "config":
            from monitor_pipeline.settings import load_config

            print(load_config(args.config).model_dump_json(indent=2))
            return 0
    except MonitorError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"monitor-pipeline: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 1


if __name__ == "__main__":
    sys.exit(main())
