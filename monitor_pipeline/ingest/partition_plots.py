"""The day's plots: which table each PNG draws, drawn into a folder, and inlined as markdown."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from monitor_pipeline.plots import (
    engine_latency_plot,
    engine_queue_kv_plot,
    gpu_memory_plot,
    latency_errors_plot,
    offline_jobs_plot,
    online_requests_plot,
)

# PNG name -> (the function drawing it, the table of the day it draws: 5-minute windows, or the offline jobs)
PLOTS: dict[str, tuple[Callable[[pd.DataFrame, Path], Path], str]] = {
    "online_requests.png": (online_requests_plot, "request_windows"),
    "offline_jobs.png": (offline_jobs_plot, "offline_log"),
    "latency_errors.png": (latency_errors_plot, "request_windows"),
    "gpu_memory.png": (gpu_memory_plot, "resource_windows"),
    "engine_queue_kv.png": (engine_queue_kv_plot, "engine_windows"),
    "engine_latency.png": (engine_latency_plot, "engine_windows"),
}


def draw_plots(frames: Mapping[str, pd.DataFrame], out_dir: Path) -> dict[str, Path]:
    """Every PNG of PLOTS drawn from its table in `frames` into `out_dir`, by name."""
    return {name: fn(frames[table], out_dir / name) for name, (fn, table) in PLOTS.items()}


def inline_markdown(paths: Mapping[str, Path]) -> str:
    """The PNGs inlined as data URIs in markdown, so a viewer without access to the files shows them."""
    return "\n\n".join(
        f"**{name}**\n\n![{name}](data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()})"
        for name, p in paths.items()
    )
