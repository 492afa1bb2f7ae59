"""The `monitor-pipeline` command: demo, collect, ui, formats, config (the rest, ingest and simulate too: one module each)."""

from __future__ import annotations

import argparse
import os
import sys
import traceback

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
    if args.command == "demo":
        return _demo(args)
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


if __name__ == "__main__":
    sys.exit(main())
