"""Sample this host's CPU/memory (psutil) and every GPU (NVML) into `resources` JSON lines."""

from __future__ import annotations

import datetime as dt
import json
import socket
import time
from collections.abc import Callable
from pathlib import Path

import psutil

MB = 1024 * 1024


def _nvml(notice: Callable[[str], None]):
    """The initialised pynvml module, or None (with one notice) when there is no NVIDIA driver or GPU."""
    try:
        import pynvml

        pynvml.nvmlInit()
        return pynvml
    except Exception as exc:  # noqa: BLE001 - no library, no driver, no device: all mean "no GPU here"
        notice(f"no NVIDIA GPU available ({type(exc).__name__}: {exc}); sampling CPU and memory only")
        return None


def _gpu_rows(nvml, host: str, ts: str) -> list[dict]:
    rows = []
    for i in range(nvml.nvmlDeviceGetCount()):
        h = nvml.nvmlDeviceGetHandleByIndex(i)
        row: dict[str, str | float | None] = {
            "timestamp": ts,
            "host": host,
            "device": f"gpu{i}",
            "gpu_util_pct": None,
            "gpu_mem_used_mb": None,
            "gpu_mem_total_mb": None,
            "cpu_util_pct": None,
            "mem_used_mb": None,
            "mem_total_mb": None,
            "temperature_c": None,
            "power_w": None,
        }
        # Each query may be unsupported on some boards; a missing metric stays null.
        queries = {
            "gpu_util_pct": lambda h=h: nvml.nvmlDeviceGetUtilizationRates(h).gpu,
            "gpu_mem_used_mb": lambda h=h: nvml.nvmlDeviceGetMemoryInfo(h).used / MB,
            "gpu_mem_total_mb": lambda h=h: nvml.nvmlDeviceGetMemoryInfo(h).total / MB,
            "temperature_c": lambda h=h: nvml.nvmlDeviceGetTemperature(h, nvml.NVML_TEMPERATURE_GPU),
            "power_w": lambda h=h: nvml.nvmlDeviceGetPowerUsage(h) / 1000.0,
        }
        for key, fn in queries.items():
            try:
                row[key] = round(float(fn()), 2)
            except Exception:  # noqa: BLE001 - a query a board does not support leaves its metric null
                pass
        rows.append(row)
    return rows


def collect(
    interval_s: float, count: int, out: str | Path, host: str | None = None, notice: Callable[[str], None] = print
) -> int:
    """Append `count` samples (0: until Ctrl-C) every `interval_s` seconds to `out`; return rows written."""
    host = host or socket.gethostname()
    nvml = _nvml(notice)
    psutil.cpu_percent(None)  # the first reading primes the counter
    written, n = 0, 0
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "a") as fh:
            while count == 0 or n < count:
                if n:
                    time.sleep(interval_s)
                ts = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
                vm = psutil.virtual_memory()
                rows = [
                    {
                        "timestamp": ts,
                        "host": host,
                        "device": "cpu",
                        "gpu_util_pct": None,
                        "gpu_mem_used_mb": None,
                        "gpu_mem_total_mb": None,
                        "cpu_util_pct": psutil.cpu_percent(None),
                        "mem_used_mb": round((vm.total - vm.available) / MB, 1),
                        "mem_total_mb": round(vm.total / MB, 1),
                        "temperature_c": None,
                        "power_w": None,
                    }
                ]
                if nvml is not None:
                    rows += _gpu_rows(nvml, host, ts)
                fh.write("".join(json.dumps(r) + "\n" for r in rows))
                fh.flush()
                written += len(rows)
                n += 1
    except KeyboardInterrupt:
        pass
    finally:
        if nvml is not None:
            try:
                nvml.nvmlShutdown()
            except Exception:  # noqa: BLE001 - shutting down a library that failed is not an error
                pass
    return written
