"""The `monitor-pipeline` command: demo, ingest, simulate, collect, ui, formats, config (the rest: one module each)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import traceback
from pathlib import Path

from monitor_pipeline.cli import command_modules
from monitor_pipeline.cli.common import (
    CHECK_FAILED,
    INTERNAL_ERROR,
    INTERRUPTED,
    OK,
    USAGE_ERROR,
    HelpFormatter,
    add_subparser,
    common_options,
    emit,
    json_only,
    notice,
    package_version,
    warn,
)
from monitor_pipeline.cli.progress import bar, printer
from monitor_pipeline.errors import MonitorError

for _k, _v in (("DAGSTER_DISABLE_TELEMETRY", "1"), ("MLFLOW_DISABLE_TELEMETRY", "true"), ("DO_NOT_TRACK", "1")):
    os.environ.setdefault(_k, _v)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="monitor-pipeline",
        description="Production monitoring for LLM services.",
        epilog=EXIT_CODES,
        formatter_class=HelpFormatter,
        parents=[_top_level_options()],
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    p.add_argument("--config", help="pipeline YAML (default: MONITOR_CONFIG or configs/pipeline.yaml)")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = add_subparser(sub, "demo", help="simulate a service, materialize every partition, say where to look")
    demo.add_argument("--days", type=int, default=3, help="days to simulate and materialize")
    demo.add_argument("--requests-per-day", type=int, default=100_000, help="mean requests a simulated weekday")
    demo.add_argument("--seed", type=int, default=0, help="random seed of the simulation")
    demo.add_argument(
        "--strict", action="store_true", help="exit 1 when a critical check (ERROR severity) fails on any run"
    )
    ing = add_subparser(sub, "ingest", help="ingest log files outside Dagster and print the counts as JSON")
    ing.add_argument("paths", nargs="+", metavar="PATH", help="files, directories or globs (hdfs://, s3a:// on Spark)")
    ing.add_argument("--format", default="auto", help="format name (see `formats`); default: detected per file")
    ing.add_argument("--engine", choices=["duckdb", "spark"], help="default: the config's engine")
    ing.add_argument("--data-dir", help="where the warehouse lives (default: the config's data_dir)")
    ing.add_argument("--source", help="source name for every file (default: each file is its own source)")
    ing.add_argument(
        "--partition", type=dt.date.fromisoformat, help="keep and replace only this UTC day (default: every day read)"
    )
    ing.add_argument("--model", default="unknown", help="model name for rows that carry none")
    ing.add_argument(
        "--field",
        action="append",
        default=[],
        metavar="COLUMN=PATH",
        help="read a canonical column from a CSV column or JSON path, e.g. "
        "input_tokens=response.body.usage.prompt_tokens (repeatable; default: the format's own mapping)",
    )
    ing.add_argument("--timezone", help="IANA zone of times written without an offset (default: UTC, with a warning)")
    ing.add_argument(
        "--time-format", default="auto", help="auto, iso, epoch_s, epoch_ms, epoch_us, epoch_ns or a strptime pattern"
    )
    ing.add_argument(
        "--origin",
        help="ISO time a relative clock counts from (e.g. BurstGPT's seconds; default: none, times absolute)",
    )
    ing.add_argument(
        "--at",
        dest="scraped_at",
        metavar="TIME",
        help="time of Prometheus samples without a timestamp: an ISO time, or `mtime` (the file's); default: none, "
        "such samples are quarantined",
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
    sim = add_subparser(sub, "simulate", help="write days of simulated LLM-service traffic with labeled incidents")
    sim.add_argument("--out", required=True, help="output directory")
    sim.add_argument("--days", type=int, help="days to write (default 2; not with --live)")
    sim.add_argument("--seed", type=int, default=0, help="random seed: the same seed writes the same bytes")
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
    sim.add_argument("--rate", type=float, help="--live: requests per second (Poisson arrivals; no default, required)")
    sim.add_argument("--minutes", type=float, help="--live: simulated minutes to write (no default, required)")
    sim.add_argument("--speed", type=float, default=1.0, help="--live: simulated seconds per wall second (default 1)")
    sim.add_argument(
        "--incident",
        action="append",
        default=[],
        metavar="KIND@MIN",
        help="--live: an incident of KIND MIN simulated minutes after the start (repeatable; default: none): "
        "latency_regression, error_burst, traffic_spike, abusive_user, gpu_memory_leak, kv_cache_saturation, "
        "prompt_length_drift",
    )
    sim.add_argument(
        "--rotate",
        type=float,
        metavar="MIN",
        help="--live: rotate the requests file every MIN minutes (default: never)",
    )
    sim.add_argument(
        "--rotate-mode",
        choices=["rename", "copytruncate", "gzip"],
        default="rename",
        help="--live: as logrotate: rename to .1 (default), copy to .1 and truncate, or rename and compress to .1.gz",
    )
    col = add_subparser(
        sub,
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
        'instance="host:port" unless it has one; default: sample the host)',
    )
    col.add_argument(
        "--timeout",
        type=float,
        help="seconds one scrape may take (default: the interval, but at least 1 and at most 10)",
    )
    ui = add_subparser(sub, "ui", help="serve the Dagster UI on :3000 and the MLflow UI on :5000 (Ctrl-C stops both)")
    ui.add_argument("--dagster-port", type=int, default=3000, help="port of the Dagster UI")
    ui.add_argument("--mlflow-port", type=int, default=5000, help="port of the MLflow UI")
    add_subparser(sub, "formats", help="list the log formats")
    add_subparser(sub, "config", help="print the effective configuration (JSON)")
    for mod in command_modules():
        mod.add_arguments(add_subparser(sub, mod.NAME, help=mod.HELP))
    return p


def _top_level_options() -> argparse.ArgumentParser:
    """`--json` and `--quiet` before the subcommand (False unless given; a subcommand's copy may set them too)."""
    p = argparse.ArgumentParser(add_help=False)
    for action in common_options()._actions:
        p.add_argument(*action.option_strings, action="store_true", default=False, help=action.help)
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


EXIT_CODES = """exit codes:
  0    success
  1    a check failed: probe (significant pass-rate drop), demo --strict (a critical check failed),
       scan --fail-on, benchmark (sweep partial or failed), alerts test (a channel failed),
       collect --scrape (no scrape succeeded)
  2    usage or input error: bad arguments, config, paths, formats or targets (one line on stderr)
  3    internal error: a bug in monitor-pipeline (traceback on stderr; please report it)
  130  interrupted (Ctrl-C)"""


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse, run the command, map the outcome to an exit code (EXIT_CODES)."""
    args = _parser().parse_args(argv)
    try:
        with json_only(args.json):
            return _dispatch(args)
    except MonitorError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"monitor-pipeline: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        return INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - a bug: say so with its traceback and exit 3, not the 1 CI gates on
        traceback.print_exc()
        print(
            f"monitor-pipeline: internal error: {type(exc).__name__}: {exc} (a bug: please report it)", file=sys.stderr
        )
        return INTERNAL_ERROR


def _dispatch(args: argparse.Namespace) -> int:
    """Run the parsed command; MonitorError and KeyboardInterrupt propagate to main()."""
    if args.command == "ingest":
        return _ingest(args)
    if args.command == "demo":
        return _demo(args)
    if args.command == "simulate":
        return _simulate(args)
    if args.command == "collect" and args.scrape:
        from monitor_pipeline.scrape import scrape

        scraped = scrape(args.scrape, args.interval, args.count, args.out, notice=warn, timeout_s=args.timeout)
        emit(scraped.as_dict())
        return OK if scraped.ok or not scraped.failed else CHECK_FAILED  # 1: not one scrape succeeded
    if args.command == "collect":
        from monitor_pipeline.collect import collect

        rows = collect(args.interval, args.count, args.out, notice=warn)
        emit({"rows": rows, "out": args.out})
        return OK
    if args.command == "ui":
        from monitor_pipeline.ui import run_ui

        return run_ui(args.config, dagster_port=args.dagster_port, mlflow_port=args.mlflow_port)
    if args.command == "formats":
        from monitor_pipeline.ingest.formats import FORMATS

        for name, f in sorted(FORMATS.items()):
            if args.json:
                emit({"name": name, "table": f.table, "description": f.description})
            else:
                print(f"{name:<16} -> {f.table:<12} {f.description}")
        return OK
    if args.command == "config":
        from monitor_pipeline.settings import load_config

        cfg = load_config(args.config)
        if args.json:  # JSON Lines: the whole config on one line
            emit(cfg.model_dump(mode="json"))
        else:
            print(cfg.model_dump_json(indent=2))
        return OK
    for mod in command_modules():
        if args.command == mod.NAME:
            return mod.run(args)
    raise AssertionError(f"no handler for command {args.command!r}")  # argparse only accepts known commands


def _demo(args: argparse.Namespace) -> int:
    """The demo's report for people on stdout (stderr with --json, where stdout gets one JSON summary)."""
    from monitor_pipeline.demo import run_demo

    with bar(args, "demo", unit="step") as progress:
        report = run_demo(
            args.config,
            days=args.days,
            requests_per_day=args.requests_per_day,
            seed=args.seed,
            out=printer(progress),
            progress=progress,
        )
    failures = report["critical_failures"]
    if args.json:
        emit(
            {
                "days": report["days"],
                "forecasting": report["forecasting"],
                "probes": report["probes"],
                "critical_failures": failures,
                "seconds": round(report["seconds"], 1),
            }
        )
    if failures:
        print(
            f"monitor-pipeline: {len(failures)} critical check(s) failed: {'; '.join(failures)}"
            + ("" if args.strict else " (exit 0 without --strict)"),
            file=sys.stderr,
        )
    return CHECK_FAILED if failures and args.strict else OK


def _simulate(args: argparse.Namespace) -> int:
    from monitor_pipeline.errors import InputError
    from monitor_pipeline.simulate import DEFAULT_START, simulate
    from monitor_pipeline.simulate.live import parse_start, simulate_live

    live_only = {"--rate": args.rate, "--minutes": args.minutes, "--incident": args.incident, "--rotate": args.rotate}
    batch_only = {"--days": args.days, "--requests-per-day": args.requests_per_day, "--no-incidents": args.no_incidents}
    if args.live:
        wrong = [k for k, v in batch_only.items() if v not in (None, False)]
        if wrong or args.rate is None or args.minutes is None:
            raise InputError(f"simulate --live: needs --rate and --minutes, and takes no {', '.join(batch_only)}")
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
            notice=lambda m: notice(args, m),
        )
        emit(summary)
        return OK
    wrong = [k for k, v in live_only.items() if v not in (None, [])]
    if wrong:
        raise InputError(f"simulate: {', '.join(wrong)} only apply with --live")
    try:
        start = dt.date.fromisoformat(args.start) if args.start else DEFAULT_START
    except ValueError:
        raise InputError(f"simulate --start {args.start!r}: expected a UTC day such as 2026-11-17") from None
    days = 2 if args.days is None else args.days
    with bar(args, "simulate", unit="day", total=days) as progress:
        summary = simulate(
            args.out,
            days=days,
            seed=args.seed,
            requests_per_day=100_000 if args.requests_per_day is None else args.requests_per_day,
            start=start,
            with_incidents=not args.no_incidents,
            progress=progress,
        )
    emit(summary)
    return OK


if __name__ == "__main__":
    sys.exit(main())
