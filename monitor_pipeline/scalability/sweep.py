"""Run a sweep: per point, warm-up, repetitions until the median is stable, latency percentiles, throughput, peak memory."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import psutil

from monitor_pipeline.settings.scalability import ScalabilityConfig

# A quick sweep (`--quick`, tests): a handful of points and repetitions; seconds on a CPU.
QUICK = {
    "batch_sizes": [1, 2, 4, 8, 16],
    "lengths": [16],
    "reference_length": 16,
    "reference_batch": 8,
    "concurrency": [1, 2, 4, 8],
    "requests_per_repetition": 8,
    "max_requests_per_level": 64,
    "train_samples": [128, 256, 512],
    "hidden_sizes": [16],
    "train_epochs": 1,
    "warmup": 1,
    "min_repetitions": 5,
    "max_repetitions": 12,
    "max_seconds_per_point": 4.0,
}


def quick(cfg: ScalabilityConfig) -> ScalabilityConfig:
    """The config with the quick sweep's grid and repetition counts (target, SLO and thresholds kept)."""
    return cfg.model_copy(update=QUICK)


def robust_rel_sd(values: np.ndarray) -> float:
    """Relative spread of repetitions: 1.4826 × MAD / median (the standard deviation for normal noise, outlier-proof)."""
    v = np.asarray(values, dtype=float)
    med = float(np.median(v))
    return float(1.4826 * np.median(np.abs(v - med)) / med) if med > 0 and len(v) > 1 else float("nan")


class PeakMemory:
    """Peak process RSS (sampled every 5 ms) and, on CUDA, torch's peak allocated/reserved memory, over a block."""

    def __init__(self, device: str) -> None:
        self.device, self._proc, self._stop = device, psutil.Process(), threading.Event()
        self.rss_start = self.rss_peak = 0
        self.gpu_allocated: float | None = None
        self.gpu_reserved: float | None = None

    def _poll(self) -> None:
        while not self._stop.wait(0.005):
            self.rss_peak = max(self.rss_peak, self._proc.memory_info().rss)

    def __enter__(self) -> PeakMemory:
        self.rss_start = self.rss_peak = self._proc.memory_info().rss
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.reset_peak_memory_stats()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.rss_peak = max(self.rss_peak, self._proc.memory_info().rss)
        if self.device.startswith("cuda"):
            import torch

            self.gpu_allocated = torch.cuda.max_memory_allocated() / 2**20
            self.gpu_reserved = torch.cuda.max_memory_reserved() / 2**20


def _repeat(fn: Callable, cfg: ScalabilityConfig, max_reps: int) -> tuple[list[float], list, bool]:
    """Timed repetitions until adding one moves the median less than `stable_tolerance` (or the budget runs out)."""
    walls: list[float] = []
    works: list = []
    stable = False
    start = time.perf_counter()
    while len(walls) < max_reps:
        t = time.perf_counter()
        works.append(fn())
        walls.append((time.perf_counter() - t) * 1000)
        if len(walls) >= cfg.min_repetitions:
            now, before = np.median(walls), np.median(walls[:-1])
            if abs(now - before) <= cfg.stable_tolerance * now:
                stable = True
                break
        if time.perf_counter() - start > cfg.max_seconds_per_point and len(walls) >= 3:
            break
    return walls, works, stable


def measure_point(target, x: int, series: int | None, cfg: ScalabilityConfig) -> dict:
    """One sweep point: warm-up, stable-median repetitions; latency p50/p95, throughput, tokens/s, peak memory."""
    fn = target.call(x, series)
    max_reps = cfg.max_repetitions
    if target.sweep == "endpoint":  # a bounded request count per level, warm-up included
        per_rep = max(cfg.requests_per_repetition, x)
        max_reps = max(3, min(max_reps, cfg.max_requests_per_level // per_rep - cfg.warmup))
    with PeakMemory(target.device) as mem:
        for _ in range(cfg.warmup):
            fn()
        walls, works, stable = _repeat(fn, cfg, max_reps)
    per_request = [ms for w in works for ms in (w.latencies_ms or [])]
    lat = np.asarray(per_request or walls)
    rep_tp = np.array([w.items / (ms / 1000) for w, ms in zip(works, walls, strict=True)])
    rep_tok = np.array([w.tokens / (ms / 1000) for w, ms in zip(works, walls, strict=True)])
    return {
        "sweep": target.sweep,
        "target": target.name,
        "axis": target.axis,
        "x": x,
        "series_key": target.series_key,
        "series": series,
        "device": target.device,
        "reps": len(walls),
        "stable": stable,
        "latency_ms_p50": float(np.percentile(lat, 50)),
        "latency_ms_p95": float(np.percentile(lat, 95)),
        "latency_ms_mean": float(lat.mean()),
        "wall_ms_median": float(np.median(walls)),
        "throughput": float(np.median(rep_tp)),
        "tokens_per_s": float(np.median(rep_tok)),
        "throughput_rel_sd": robust_rel_sd(rep_tp),
        "rep_throughput": [round(float(v), 4) for v in rep_tp],
        "rss_peak_mb": mem.rss_peak / 2**20,
        "rss_delta_mb": (mem.rss_peak - mem.rss_start) / 2**20,
        "gpu_mem_allocated_mb": mem.gpu_allocated,
        "gpu_mem_reserved_mb": mem.gpu_reserved,
        "error": None,
    }


@dataclass
class SweepResult:
    """Every point measured (failed ones carry `error`), the errors in words, and the device."""

    points: pd.DataFrame
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        """True when every planned point was measured without error."""
        return not self.errors

    def ok(self) -> pd.DataFrame:
        """The points measured without error."""
        return self.points[self.points["error"].isna()] if len(self.points) else self.points


def run_sweep(
    targets: list,
    cfg: ScalabilityConfig,
    log: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Measure every target's grid; a failing point is recorded and skipped, repeated failures end that target.

    `progress(points_done, points)` is called after each point, and for the points a stopped target leaves out."""
    rows: list[dict] = []
    errors: list[str] = []
    t0 = time.perf_counter()
    with torch_threads(cfg.threads):
        _sweep_targets(targets, cfg, log, rows, errors, progress)
    return SweepResult(pd.DataFrame(rows), errors, time.perf_counter() - t0)


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """torch's CPU thread count set to `n` for the block, then restored (it is process-wide)."""
    if n is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _sweep_targets(
    targets: list,
    cfg: ScalabilityConfig,
    log: Callable[[str], None] | None,
    rows: list,
    errors: list,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    total, done = sum(len(t.grid) for t in targets), 0
    for target in targets:
        try:
            target.prepare()
        except Exception as exc:  # noqa: BLE001 - a target that fails to load is a result of this sweep, not a crash
            errors.append(f"{target.sweep}: could not prepare {target.name}: {type(exc).__name__}: {exc}")
            done += len(target.grid)
            if progress:
                progress(done, total)
            continue
        failures = 0
        for i, (x, series) in enumerate(target.grid):
            try:
                rows.append(measure_point(target, x, series, cfg))
                failures = 0
            except Exception as exc:  # noqa: BLE001 - an endpoint error or a CUDA OOM is a measurement, per point
                failures += 1
                msg = f"{type(exc).__name__}: {exc}"
                rows.append(
                    {
                        "sweep": target.sweep,
                        "target": target.name,
                        "axis": target.axis,
                        "x": x,
                        "series_key": target.series_key,
                        "series": series,
                        "device": target.device,
                        "error": msg,
                    }
                )
                errors.append(
                    f"{target.sweep} {target.axis}={x}"
                    + (f" {target.series_key}={series}" if series else "")
                    + f": {msg}"
                )
            if log:
                r = rows[-1]
                where = f" {target.series_key}={series}" if target.series_key else ""
                log(
                    f"{target.sweep} {target.axis}={x}{where}: "
                    + (
                        f"error {r['error']}"
                        if r["error"]
                        else f"p50 {r['latency_ms_p50']:.1f} ms, p95 {r['latency_ms_p95']:.1f} ms, "
                        f"{r['throughput']:.1f}/s, {r['reps']} reps"
                    )
                )
            done += 1
            if failures >= cfg.max_consecutive_failures:
                left = len(target.grid) - i - 1
                done += left  # the points a stopped target leaves out: the bar still reaches its end
                if left:
                    errors.append(
                        f"{target.sweep}: stopped after {failures} failed points in a row; {left} not measured"
                    )
                if progress:
                    progress(done, total)
                break
            if progress:
                progress(done, total)
