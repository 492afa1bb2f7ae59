"""`monitor-pipeline benchmark`: a scalability sweep outside Dagster, printed as one JSON object."""

from __future__ import annotations

import argparse
import sys

from monitor_pipeline.cli.common import CHECK_FAILED, OK, emit
from monitor_pipeline.cli.progress import bar, printer

NAME = "benchmark"
HELP = "sweep a target over batch sizes/lengths (or concurrency), fit latency and throughput, print one JSON object"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--target, --model, --api-key-env, --quick, --slo-ms, --threads, --progress."""
    parser.add_argument(
        "--target",
        help="`local` (embedded MiniLM), `lstm` (the forecaster's LSTM, inference and "
        "training) or an OpenAI-compatible base URL (default: scalability.target)",
    )
    parser.add_argument("--model", help="model name sent to a URL target (default: scalability.model)")
    parser.add_argument(
        "--api-key-env", help="env var holding a URL target's API key (default: scalability.api_key_env)"
    )
    parser.add_argument("--quick", action="store_true", help="a few points and repetitions (seconds): a smoke test")
    parser.add_argument("--slo-ms", type=float, help="p95 latency SLO in ms (default: scalability.slo_p95_ms)")
    parser.add_argument(
        "--threads", type=int, help="torch CPU threads (default scalability.threads; 1 is steadier on a shared machine)"
    )
    parser.add_argument(
        "--progress", action="store_true", help="also print each point's figures to stderr as it is measured"
    )


def run(args: argparse.Namespace) -> int:
    """Run the sweep; exit 0 when every point was measured and fitted, 1 when the sweep is partial or failed."""
    from monitor_pipeline.errors import ConfigError
    from monitor_pipeline.scalability.report import run_benchmark, to_json
    from monitor_pipeline.scalability.sweep import quick
    from monitor_pipeline.settings import load_config

    cfg = load_config(args.config).scalability
    update: dict = {}
    if args.target in ("local", "lstm"):
        update["target"] = args.target
    elif args.target:
        if not args.target.startswith(("http://", "https://")):
            raise ConfigError(
                f"--target {args.target!r}: expected local, lstm or an http(s):// base URL "
                "of an OpenAI-compatible endpoint (e.g. http://127.0.0.1:8000/v1)"
            )
        update |= {"target": "openai", "base_url": args.target}
    if args.model:
        update["model"] = args.model
    if args.api_key_env:
        update["api_key_env"] = args.api_key_env
    if args.slo_ms:
        update["slo_p95_ms"] = args.slo_ms
    if args.threads:
        update["threads"] = args.threads
    cfg = cfg.model_copy(update=update)
    if args.quick:
        cfg = quick(cfg)
    with bar(args, "benchmark", unit="point") as progress:
        say = printer(progress)
        log = (lambda m: say(m) if progress else print(m, file=sys.stderr, flush=True)) if args.progress else None
        b = run_benchmark(cfg, log, progress=progress)
    emit(to_json(b, args.quick))
    return OK if b.status == "success" else CHECK_FAILED
