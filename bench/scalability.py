"""Run-to-run spread of scalability sweeps: `python bench/scalability.py [--target local|lstm|URL] [--runs 3] [--full]`.

Runs the same sweep (the quick one unless --full) several times in this process and prints one JSON line: per sweep,
the reference throughput, SLO-safe batch and knee of every run, their spread (max/min − 1 and the relative standard
deviation), and the baseline comparison — each later run compared with the first by the asset's own noise-aware rule
(`compare`), so `false_alarms` counts alerts an unchanged target would have raised.
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from monitor_pipeline.scalability.compare import compare  # noqa: E402
from monitor_pipeline.scalability.report import run_benchmark  # noqa: E402
from monitor_pipeline.scalability.sweep import quick  # noqa: E402
from monitor_pipeline.settings import load_config  # noqa: E402


def main() -> None:
    """Parse arguments, sweep `--runs` times, print the spread as one JSON line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="local", help="local, lstm or an OpenAI-compatible base URL")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--full", action="store_true", help="the configured sweep instead of the quick one")
    ap.add_argument("--threads", type=int, help="torch CPU threads (default torch's)")
    ap.add_argument("--config", help="pipeline YAML")
    args = ap.parse_args()
    cfg = load_config(args.config).scalability
    upd = {"target": args.target} if args.target in ("local", "lstm") else {"target": "openai", "base_url": args.target}
    cfg = cfg.model_copy(update=upd | ({"threads": args.threads} if args.threads else {}))
    cfg = cfg if args.full else quick(cfg)
    benches = [run_benchmark(cfg) for _ in range(args.runs)]
    out = {
        "target": benches[0].target,
        "device": benches[0].device,
        "quick": not args.full,
        "runs": args.runs,
        "threads": cfg.threads,
        "seconds": [round(b.result.seconds, 1) for b in benches],
        "status": [b.status for b in benches],
        "sweeps": {},
    }
    for sweep in benches[0].analysis:
        rows = [b.analysis.get(sweep, {}) for b in benches]
        tp = np.array([r.get("throughput_ref") or np.nan for r in rows], dtype=float)
        alarms = [
            reg.title
            for b in benches[1:]
            for reg in compare({sweep: b.analysis[sweep]}, {sweep: rows[0]}, {}, cfg)[0]
            if reg.rule in ("scalability.throughput_drop", "scalability.slo_safe_shrink")
        ]
        out["sweeps"][sweep] = {
            "reference_x": rows[0].get("reference_x"),
            "throughput_ref": [round(float(v), 2) for v in tp],
            "throughput_ref_spread": round(float(np.nanmax(tp) / np.nanmin(tp) - 1), 4),
            "throughput_ref_rel_sd": round(float(np.nanstd(tp, ddof=1) / np.nanmean(tp)), 4),
            "throughput_ref_rel_se_within_run": [round(r.get("throughput_ref_rel_se") or 0, 4) for r in rows],
            "slo_safe": [r.get("slo_safe") for r in rows],
            "slo_safe_measured": [r.get("slo_safe_measured") for r in rows],
            "knee": [r.get("knee") for r in rows],
            "r2_latency_p95": [round((r.get("fits", {}).get("latency_ms_p95") or {}).get("r2") or 0, 3) for r in rows],
            "r2_throughput": [round((r.get("fits", {}).get("throughput") or {}).get("r2") or 0, 3) for r in rows],
            "false_alarms_vs_first": alarms,
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
