"""`monitor-pipeline probe`: golden probe sets sent to a target, pass rates as JSON lines, exit 1 on a significant drop.

Each set's pass rate is compared with a baseline (one-sided two-proportion test at probes.alpha, as the Dagster check
`golden_pass_rate_no_significant_drop` does): by default the previous run the pipeline recorded in MLflow for the same
set, version and target; or the output of an earlier `probe` saved to a file, which is how CI compares two models.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from monitor_pipeline.cli.common import CHECK_FAILED, OK, emit, notice

if TYPE_CHECKING:
    from monitor_pipeline.drift_quality.probes.runner import PreviousRun, ProbeRun
    from monitor_pipeline.settings import PipelineConfig

NAME = "probe"
HELP = "send golden probe sets to a target, print pass rates as JSON lines; exit 1 when one dropped significantly"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--set, --target, --model, --api-key-env, --baseline, --failures."""
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        metavar="NAME[@vN]",
        help="probe set under the golden dir (repeatable; default: the config's probes.sets)",
    )
    parser.add_argument(
        "--target",
        help="`local` (embedded MiniLM) or an OpenAI-compatible base URL (default: the config's probes.target)",
    )
    parser.add_argument("--model", help="model name for a URL target (default: probes.target.model, else `default`)")
    parser.add_argument("--api-key-env", help="env var holding the API key (default: probes.target.api_key_env)")
    parser.add_argument(
        "--baseline",
        default="mlflow",
        metavar="mlflow|FILE|none",
        help="what each set's pass rate is compared with: `mlflow`, the previous run the pipeline recorded for the "
        "same set, version and target; FILE, the saved output of an earlier `probe` (same set and version); or "
        "`none` (default: %(default)s)",
    )
    parser.add_argument("--failures", action="store_true", help="also print each failed probe")


def run(args: argparse.Namespace) -> int:
    """Run every set, print one JSON line per set (and per failure), exit 1 if any set dropped significantly."""
    from monitor_pipeline.drift_quality.probes.endpoints import build_target
    from monitor_pipeline.drift_quality.probes.runner import ProbeReport, run_probes
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
    baseline = _file_baseline(Path(args.baseline)) if args.baseline not in ("mlflow", "none") else None
    target = build_target(t)
    report = ProbeReport(target.url, cfg.probes.alpha, [])
    for name in args.sets or cfg.probes.sets:
        run = run_probes(load_probe_set(cfg.golden_path(), name), target, cfg.probes.min_similarity)
        report.runs.append(run)
        if args.baseline == "mlflow":
            previous = _mlflow_previous(cfg, run)
        elif baseline is not None:
            previous = baseline.get((run.set_name, run.version))
        else:
            previous = None
        outcome = report.compare(run, previous)
        c = outcome.comparison
        emit(
            run.summary()
            | {
                "baseline": None
                if previous is None
                else {"passed": previous.passed, "total": previous.total, "from": previous.run_id},
                "p_value_vs_baseline": None if c is None else round(c.p_value, 6),
                "significant_drop": outcome.significant_drop,
            }
        )
        if args.failures:
            for r in run.results[~run.results["passed"]].to_dict("records"):
                emit({"failed": r["id"], "expected": r["expected"], "answer": r["answer"][:200]})
    if report.drops:
        notice(args, f"pass rate dropped significantly (alpha {report.alpha}): {', '.join(report.drops)}")
        return CHECK_FAILED
    return OK


def _file_baseline(path: Path) -> dict[tuple[str, str], PreviousRun]:
    """The set summaries of an earlier `probe` output, by (set, version); other lines (failures) are skipped."""
    from monitor_pipeline.drift_quality.probes.runner import PreviousRun
    from monitor_pipeline.errors import InputError

    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise InputError(
            f"--baseline {path}: {exc.strerror or exc}; pass a saved `probe` output, mlflow or none"
        ) from None
    found: dict[tuple[str, str], PreviousRun] = {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise InputError(f"--baseline {path}:{n}: not a JSON line of `monitor-pipeline probe` output") from None
        if isinstance(row, dict) and {"set", "version", "passed", "total"} <= row.keys():
            found[(row["set"], row["version"])] = PreviousRun(int(row["passed"]), int(row["total"]), f"{path}:{n}")
    if not found:
        raise InputError(f"--baseline {path}: no set summaries (lines with set, version, passed, total) in it")
    return found


def _mlflow_previous(cfg: PipelineConfig, run: ProbeRun) -> PreviousRun | None:
    """The previous run of this set, version and target in the pipeline's MLflow store; None without a store."""
    from monitor_pipeline.drift_quality.probes.runner import PreviousRun
    from monitor_pipeline.tracking.history import previous_probe_run
    from monitor_pipeline.tracking.store import Store, tracking_uri_for

    uri = cfg.mlflow.tracking_uri
    if uri is None:
        db = cfg.data_path() / "mlflow.db"
        if not db.exists():  # opening it would create an empty store (and run MLflow's migrations): nothing to read
            return None
        uri = tracking_uri_for(cfg.data_path())
    # The experiment the quality_probes asset records into (defs.drift_quality.probes.EXPERIMENT).
    found = previous_probe_run(
        Store(uri, None, cfg.mlflow.ui_url), "quality_probes", run.set_name, run.version, run.target
    )
    if found is None or "passed" not in found.data.metrics:
        return None
    m = found.data.metrics
    return PreviousRun(int(m["passed"]), int(m["total"]), f"mlflow:{found.info.run_id}")
