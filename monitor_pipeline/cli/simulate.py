"""`monitor-pipeline simulate`: days of simulated LLM-service traffic with labeled incidents, or `--live` appends in real
time."""

from __future__ import annotations

import argparse
import datetime as dt

from monitor_pipeline.cli.common import OK, emit, notice
from monitor_pipeline.cli.progress import bar

NAME = "simulate"
HELP = "write days of simulated LLM-service traffic with labeled incidents"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--out, the batch options (--days, --requests-per-day, --start, --no-incidents) and the --live ones."""
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--days", type=int, help="days to write (default 2; not with --live)")
    parser.add_argument("--seed", type=int, default=0, help="random seed: the same seed writes the same bytes")
    parser.add_argument(
        "--requests-per-day", type=int, help="mean requests a weekday (default 100000; not with --live)"
    )
    parser.add_argument(
        "--start",
        help="first UTC day (default 2026-11-17); with --live the first simulated time, ISO UTC "
        "(default: now - minutes x (1 - 1/speed), so that the last line is written now)",
    )
    parser.add_argument("--no-incidents", action="store_true", help="a quiet service: no injected incidents")
    parser.add_argument(
        "--live",
        action="store_true",
        help="append to the files in real time (simulated time never ahead of the wall clock) until --minutes pass",
    )
    parser.add_argument(
        "--rate", type=float, help="--live: requests per second (Poisson arrivals; no default, required)"
    )
    parser.add_argument("--minutes", type=float, help="--live: simulated minutes to write (no default, required)")
    parser.add_argument(
        "--speed", type=float, default=1.0, help="--live: simulated seconds per wall second (default 1)"
    )
    parser.add_argument(
        "--incident",
        action="append",
        default=[],
        metavar="KIND@MIN",
        help="--live: an incident of KIND MIN simulated minutes after the start (repeatable; default: none): "
        "latency_regression, error_burst, traffic_spike, abusive_user, gpu_memory_leak, kv_cache_saturation, "
        "prompt_length_drift",
    )
    parser.add_argument(
        "--rotate",
        type=float,
        metavar="MIN",
        help="--live: rotate the requests file every MIN minutes (default: never)",
    )
    parser.add_argument(
        "--rotate-mode",
        choices=["rename", "copytruncate", "gzip"],
        default="rename",
        help="--live: as logrotate: rename to .1 (default), copy to .1 and truncate, or rename and compress to .1.gz",
    )


def run(args: argparse.Namespace) -> int:
    """Write the simulated files; one JSON summary on stdout."""
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
