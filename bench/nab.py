"""NAB figures: `python bench/nab.py [--nab ../shared/data/NAB]` prints one JSON line.

- `ours`: the streaming detector on every data file present (normalised NAB score per profile, threshold swept over
  those files), with the detection time; `numenta` / `windowedGaussian`: their published detections for the same files
  scored by the same scorer (the baselines, compared in the same run);
- `previous`: our detector with its earlier defaults (level, seasonal and local features only; 70.4 standard), the
  baseline for the current defaults in the same run;
- `halves`: the same on the even- and odd-numbered files separately, ours vs previous vs numenta (how much the score
  moves with the file set);
- `reproduction`: NAB's published 58-file scores (final_results.json) next to our scorer's on NAB's own result files.
"""

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor_pipeline.evaluation.nab import corpus, runner  # noqa: E402
from monitor_pipeline.evaluation.nab.detector import DetectorParams  # noqa: E402

PREVIOUS = replace(DetectorParams(), trend=(), floor=(), novelty=(), local=((12, 0.5),), warmup=0)


def main() -> None:
    """Run the detector over the NAB copy, score it and the baselines, print one JSON line."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--nab", default=str(ROOT.parent / "shared" / "data" / "NAB"))
    args = ap.parse_args()
    nab = Path(args.nab)
    labels, results = nab / "labels" / "combined_windows.json", nab / "results"
    profiles = corpus.load_profiles(nab / "config" / "profiles.json")
    windows = corpus.load_windows(labels)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        report = runner.run(nab / "data", labels, tmp, profiles, baselines_dir=results)
        seconds = time.perf_counter() - started
        files = corpus.data_files(nab / "data")
        ours_all = runner.baseline_series(Path(tmp), runner.DETECTOR, files)
    numenta_all = runner.baseline_series(results, "numenta", files)
    previous_all = {}
    for rel in files:
        df = runner.detect_file(nab / "data", rel, PREVIOUS)
        previous_all[rel] = (df["timestamp"].to_numpy(), df["anomaly_score"].to_numpy())
    previous = {p: round(r.score, 4) for p, r in runner.score_series(previous_all, windows, profiles).items()}
    halves = {}
    for half in (0, 1):
        part = files[half::2]
        for name, series in (("ours", ours_all), ("previous", previous_all), ("numenta", numenta_all)):
            scored = runner.score_series({rel: series[rel] for rel in part}, windows, profiles)
            halves.setdefault(f"half{half}", {})[name] = round(scored["standard"].score, 2)
    final = json.loads((results / "final_results.json").read_text())
    reproduction = {}
    for det in ("numenta", "windowedGaussian"):
        everything = corpus.result_files(results, det)
        scored = runner.score_series(runner.baseline_series(results, det, everything), windows, profiles)
        reproduction[det] = {
            p: {"published": round(final[det][p], 4), "ours": round(r.score, 4)} for p, r in scored.items()
        }
    line = {
        "files": report["files"],
        "windows": report["windows"],
        "ours": {p: report[p] for p in profiles},
        "previous": previous,
        "seconds_total": round(seconds, 1),
        "detect_seconds": report["detect_seconds"],
        **{
            det: {p: v["score"] for p, v in report["baselines"][det].items()} for det in ("numenta", "windowedGaussian")
        },
        "halves_standard": halves,
        "reproduction_58_files": reproduction,
    }
    print(json.dumps(line))


if __name__ == "__main__":
    main()
