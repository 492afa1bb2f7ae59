"""Plots are real PNGs, with or without data."""

from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np
import pandas as pd

from monitor_pipeline.plots import gpu_memory_plot, latency_errors_plot, offline_jobs_plot, online_requests_plot


def _windows():
    t = pd.date_range("2026-11-20", periods=288, freq="5min", tz="UTC")
    rows = []
    for m in ("a", "b"):
        rows += [
            {"window_start": x, "model": m, "requests": 10 + i % 7, "latency_p95_ms": 100.0 + i, "error_rate": 0.01}
            for i, x in enumerate(t)
        ]
    rows += [
        {"window_start": x, "model": "seed_online", "requests": 20, "latency_p95_ms": np.nan, "error_rate": np.nan}
        for x in t
    ]
    return pd.DataFrame(rows)


def _is_png(p):
    assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    h, w, _ = mpimg.imread(p).shape
    assert h > 200 and w > 500 and p.stat().st_size < 400_000


def test_plots_with_data(tmp_path):
    off = pd.DataFrame(
        {
            "timestamp": pd.date_range("2026-11-20", periods=50, freq="29min", tz="UTC"),
            "batch_size": 16,
            "train_sample_num": 1000,
        }
    )
    res = pd.DataFrame(
        {
            "window_start": pd.date_range("2026-11-20", periods=50, freq="5min", tz="UTC"),
            "host": "h",
            "device": "gpu0",
            "gpu_mem_used_mb_max": np.linspace(1000, 80000, 50),
        }
    )
    for fn, df in (
        (online_requests_plot, _windows()),
        (latency_errors_plot, _windows()),
        (offline_jobs_plot, off),
        (gpu_memory_plot, res),
    ):
        _is_png(fn(df, tmp_path / f"{fn.__name__}.png"))


def test_plots_without_data(tmp_path):
    empty = pd.DataFrame(
        columns=[
            "window_start",
            "model",
            "requests",
            "latency_p95_ms",
            "error_rate",
            "timestamp",
            "batch_size",
            "train_sample_num",
            "host",
            "device",
            "gpu_mem_used_mb_max",
        ]
    )
    for fn in (online_requests_plot, latency_errors_plot, offline_jobs_plot, gpu_memory_plot):
        _is_png(fn(empty, tmp_path / f"{fn.__name__}.png"))
