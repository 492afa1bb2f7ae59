"""GPU/CPU samples every 10 s, following the simulated load, with the memory-leak incident applied."""

from __future__ import annotations

import datetime as dt

import numpy as np

from monitor_pipeline.simulate.incidents import Incident

HOSTS = ("gpu-node-1", "gpu-node-2")
GPUS = ("gpu0", "gpu1")
GPU_MEM_MB = 81920.0
HOST_MEM_MB = 515_000.0
HOST_SHARE = (0.52, 0.48)  # the load balancer's split between the hosts
PEAK_TO_MEAN = 1.8  # a weekday's busiest 10 s relative to the day's mean rate (the diurnal cycle's peak)


def simulate_resources(
    rng: np.random.Generator,
    day: dt.date,
    request_ts: np.ndarray,
    incidents: list[Incident],
    requests_per_day: int,
    step_s: int = 10,
) -> dict[str, np.ndarray]:
    """Columns of the day's samples: one row per host (device 'cpu') and per GPU every `step_s` seconds."""
    t0 = dt.datetime.combine(day, dt.time(), dt.UTC).timestamp()
    grid = t0 + np.arange(0, 86400, step_s, dtype=float)
    counts = np.bincount(((request_ts - t0) // step_s).astype(int).clip(0, len(grid) - 1), minlength=len(grid))
    load = np.convolve(counts, np.ones(6) / 6, mode="same")
    # Load relative to a fixed capacity (a weekday's usual peak), not to the day's own peak: a traffic spike must
    # raise utilisation, and a quiet day must not look as busy as a busy one.
    load = load / max(1e-9, PEAK_TO_MEAN * requests_per_day * step_s / 86400)
    cols: dict[str, list] = {
        k: []
        for k in (
            "ts",
            "host",
            "device",
            "gpu_util_pct",
            "gpu_mem_used_mb",
            "gpu_mem_total_mb",
            "cpu_util_pct",
            "mem_used_mb",
            "mem_total_mb",
            "temperature_c",
            "power_w",
        )
    }
    nan = np.full(len(grid), np.nan)
    for host, share in zip(HOSTS, HOST_SHARE, strict=True):
        cpu = np.clip(8 + 60 * load * share * 2 + rng.normal(0, 3, len(grid)), 0, 100)
        _append(
            cols,
            grid,
            host,
            "cpu",
            nan,
            nan,
            nan,
            cpu,
            180_000 + 40_000 * load + rng.normal(0, 2000, len(grid)),
            np.full(len(grid), HOST_MEM_MB),
            nan,
            nan,
        )
        for gpu in GPUS:
            util = np.clip(10 + 85 * load * share * 2 + rng.normal(0, 4, len(grid)), 0, 100)
            mem = 52_000 + 18_000 * load + rng.normal(0, 600, len(grid))
            for inc in incidents:
                if inc.kind == "gpu_memory_leak" and inc.details["host"] == host and inc.details["device"] == gpu:
                    hit = inc.covers(grid)
                    frac = (grid - inc.start.timestamp()) / (inc.end - inc.start).total_seconds()
                    peak = GPU_MEM_MB * inc.details["peak_share"]
                    mem = np.where(hit, mem + (peak - mem) * np.clip(frac, 0, 1), mem)
            _append(
                cols,
                grid,
                host,
                gpu,
                util,
                np.clip(mem, 0, GPU_MEM_MB),
                np.full(len(grid), GPU_MEM_MB),
                nan,
                nan,
                nan,
                35 + 0.4 * util + rng.normal(0, 1, len(grid)),
                90 + 3.2 * util + rng.normal(0, 5, len(grid)),
            )
    order = np.lexsort(
        (
            np.array(cols["device"], dtype=object).astype(str),
            np.array(cols["host"]).astype(str),
            np.concatenate(cols["ts"]),
        )
    )
    return {
        k: (np.concatenate(v) if k not in ("host", "device") else np.array(v, dtype=object))[order]
        for k, v in cols.items()
    }


def _append(cols, grid, host, device, util, mem, mem_total, cpu, host_mem, host_total, temp, power) -> None:
    n = len(grid)
    cols["ts"].append(grid)
    cols["host"].extend([host] * n)
    cols["device"].extend([device] * n)
    for k, v in (
        ("gpu_util_pct", util),
        ("gpu_mem_used_mb", mem),
        ("gpu_mem_total_mb", mem_total),
        ("cpu_util_pct", cpu),
        ("mem_used_mb", host_mem),
        ("mem_total_mb", host_total),
        ("temperature_c", temp),
        ("power_w", power),
    ):
        cols[k].append(v)
