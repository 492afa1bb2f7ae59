"""Run the detector over a NAB-like data folder, write NAB result files, and score them (and published baselines)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from monitor_pipeline.errors import InputError
from monitor_pipeline.evaluation.nab import corpus
from monitor_pipeline.evaluation.nab.detector import DetectorParams, anomaly_scores
from monitor_pipeline.evaluation.nab.scorer import (
    CostMatrix,
    normalise,
    null_score,
    perfect_score,
    probation_length,
    score_file,
    sweep_corpus,
    sweep_file,
)

DETECTOR = "monitorPipeline"
Series = tuple[np.ndarray, np.ndarray]  # (timestamps, anomaly scores) of one file


@dataclass
class ProfileResult:
    """One detector under one profile: the normalised score, the raw one and the swept threshold."""

    score: float
    raw: float
    threshold: float
    null: float
    perfect: float
    files: list[dict] = field(default_factory=list)  # per file at the threshold: score, tp, tn, fp, fn

    def summary(self) -> dict:
        """The figures that go into the JSON report."""
        return {"score": round(self.score, 4), "raw": round(self.raw, 6), "threshold": self.threshold}


def score_series(
    series: dict[str, Series], windows: dict[str, list], profiles: dict[str, dict], per_file: bool = False
) -> dict[str, ProfileResult]:
    """NAB's optimise-then-score for each profile over exactly the files in `series`."""
    out = {}
    for name, profile in profiles.items():
        cost = CostMatrix.from_profile(profile)
        sweeps = [sweep_file(rel, ts, sc, windows.get(rel, []), cost) for rel, (ts, sc) in sorted(series.items())]
        threshold, raw = sweep_corpus(sweeps, cost).best()
        null, perfect = null_score(sweeps, cost), perfect_score(sweeps, cost)
        rows = [vars(score_file(s, threshold, cost)) for s in sweeps] if per_file else []
        out[name] = ProfileResult(normalise(raw, null, perfect), raw, threshold, null, perfect, rows)
    return out


def detect_file(data_dir: Path, rel: str, params: DetectorParams) -> pd.DataFrame:
    """One series scored by the detector: NAB's result columns without the label."""
    df = corpus.read_series(data_dir / rel)
    df["anomaly_score"] = anomaly_scores(df["value"].to_numpy(), df["timestamp"], probation_length(len(df)), params)
    return df


def label_column(timestamps: pd.Series, windows: list) -> np.ndarray:
    """NAB's `label`: 1 for rows inside an anomaly window, else 0."""
    label = np.zeros(len(timestamps), dtype=int)
    for start, end in windows:
        label[((timestamps >= start) & (timestamps <= end)).to_numpy()] = 1
    return label


def write_result(out_dir: Path, detector: str, rel: str, df: pd.DataFrame) -> Path:
    """`<out>/<detector>/<category>/<detector>_<name>.csv` with timestamp,value,anomaly_score,label."""
    path = corpus.result_path(out_dir, detector, rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    df[["timestamp", "value", "anomaly_score", "label"]].to_csv(path, index=False, date_format="%Y-%m-%d %H:%M:%S")
    return path


def baseline_series(results_dir: Path, detector: str, files: list[str]) -> dict[str, Series] | None:
    """A published detector's scores for exactly `files`, or None when it lacks any of them."""
    paths = {rel: corpus.result_path(results_dir, detector, rel) for rel in files}
    if not all(p.is_file() for p in paths.values()):
        return None
    out = {}
    for rel, path in paths.items():
        df = corpus.read_result(path)
        out[rel] = (df["timestamp"].to_numpy(), df["anomaly_score"].to_numpy(dtype=float))
    return out


def run(
    data_dir: str | Path,
    labels: str | Path,
    out_dir: str | Path,
    profiles: dict[str, dict],
    baselines_dir: str | Path | None = None,
    detector: str = DETECTOR,
    params: DetectorParams = DetectorParams(),
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Detect on every series under `data_dir`, write NAB result files, score them and any published baselines.

    `progress(files_done, files)` is called after each series is detected (the CLI's progress bar)."""
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    files = corpus.data_files(data_dir)
    windows = corpus.load_windows(labels)
    missing = [rel for rel in files if rel not in windows]
    if missing:
        raise InputError(
            f"labels file {labels} has no entry for {missing[0]} (and {len(missing) - 1} more data "
            "files); every series under --data needs its windows (an empty list if it has none)"
        )
    started = time.perf_counter()
    series = {}
    for i, rel in enumerate(files):
        df = detect_file(data_dir, rel, params)
        df["label"] = label_column(df["timestamp"], windows[rel])
        write_result(out_dir, detector, rel, df)
        series[rel] = (df["timestamp"].to_numpy(), df["anomaly_score"].to_numpy())
        if progress:
            progress(i + 1, len(files))
    detect_s = time.perf_counter() - started
    ours = score_series(series, windows, profiles)
    report: dict[str, Any] = {
        "detector": detector,
        **{name: round(r.score, 4) for name, r in ours.items()},
        "files": len(files),
        "windows": sum(len(windows[rel]) for rel in files),
        "profiles": {name: r.summary() for name, r in ours.items()},
        "detect_seconds": round(detect_s, 2),
        "results": str(out_dir / detector),
    }
    if baselines_dir is not None and Path(baselines_dir).is_dir():
        report["baselines"] = {}
        for sub in sorted(p.name for p in Path(baselines_dir).iterdir() if p.is_dir() and p.name != detector):
            base = baseline_series(Path(baselines_dir), sub, files)
            if base is not None:
                report["baselines"][sub] = {n: r.summary() for n, r in score_series(base, windows, profiles).items()}
    return report
