"""`monitor-pipeline nab`: run the streaming detector over a NAB-like folder, write NAB result files, score them."""

from __future__ import annotations

import argparse
from pathlib import Path

from monitor_pipeline.cli.common import OK, emit
from monitor_pipeline.cli.progress import bar

NAME = "nab"
HELP = "score the streaming anomaly detector on the Numenta Anomaly Benchmark (or any folder laid out like it)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--data, --labels, --out and the optional profiles and baselines."""
    parser.add_argument("--data", required=True, help="folder laid out like NAB's data/: <category>/<series>.csv")
    parser.add_argument("--labels", required=True, help="NAB's labels/combined_windows.json (may list more files)")
    parser.add_argument(
        "--out", required=True, help="results folder: <out>/<detector>/<category>/<detector>_<file>.csv"
    )
    parser.add_argument(
        "--profile",
        action="append",
        metavar="NAME",
        help="profile to score (repeatable; default: standard, reward_low_FP_rate, reward_low_FN_rate)",
    )
    parser.add_argument("--profiles", metavar="FILE", help="NAB's config/profiles.json (default: NAB's three profiles)")
    parser.add_argument(
        "--baselines",
        metavar="DIR",
        help="published NAB results to score on the same files (default: <labels>/../../results "
        "when it exists; `none` to skip)",
    )
    parser.add_argument("--detector", default="monitorPipeline", help="detector name in the result paths")


def run(args: argparse.Namespace) -> int:
    """Detect, write, score; print one JSON object."""
    from monitor_pipeline.errors import InputError
    from monitor_pipeline.evaluation.nab import corpus, runner

    profiles = corpus.load_profiles(args.profiles)
    if args.profile:
        unknown = [p for p in args.profile if p not in profiles]
        if unknown:
            raise InputError(f"--profile {unknown[0]!r} is not a profile; choose from {', '.join(profiles)}")
        profiles = {p: profiles[p] for p in args.profile}
    baselines = args.baselines
    if baselines is None:
        default = Path(args.labels).resolve().parent.parent / "results"
        baselines = default if default.is_dir() else None
    elif baselines == "none":
        baselines = None
    elif not Path(baselines).is_dir():
        raise InputError(f"--baselines {baselines} is not a folder; pass NAB's results/ folder or `none`")
    with bar(args, "nab", unit="series") as progress:
        report = runner.run(
            args.data,
            args.labels,
            args.out,
            profiles,
            baselines_dir=baselines,
            detector=args.detector,
            progress=progress,
        )
    emit(report)
    return OK
