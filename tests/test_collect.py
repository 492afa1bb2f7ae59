"""The collector: CPU/memory always, every GPU through NVML when there is one, one notice when not."""

from __future__ import annotations

import json
import sys
import types

from monitor_pipeline.collect import collect
from monitor_pipeline.warehouse.schema import RESOURCES


def test_cpu_only_with_one_notice(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import fails: no NVIDIA library here
    notices = []
    n = collect(0.01, 3, tmp_path / "r.jsonl", host="h1", notice=notices.append)
    rows = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert n == len(rows) == 3 and len(notices) == 1 and "no NVIDIA GPU" in notices[0]
    measured = [c for c in RESOURCES.names() if c not in ("pod", "namespace", "container")]  # k8s: exporters only
    assert all(list(r) == measured for r in rows)
    assert all(r["device"] == "cpu" and r["host"] == "h1" and 0 <= r["cpu_util_pct"] <= 100 for r in rows)
    assert rows[0]["mem_total_mb"] > rows[0]["mem_used_mb"] > 0


def _fake_nvml(gpus: int) -> types.ModuleType:
    m = types.ModuleType("pynvml")
    m.NVML_TEMPERATURE_GPU = 0
    m.nvmlInit = lambda: None
    m.nvmlShutdown = lambda: None
    m.nvmlDeviceGetCount = lambda: gpus
    m.nvmlDeviceGetHandleByIndex = lambda i: i
    m.nvmlDeviceGetUtilizationRates = lambda h: types.SimpleNamespace(gpu=40 + h)
    m.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(used=(1 + h) * 1024**3, total=80 * 1024**3)
    m.nvmlDeviceGetTemperature = lambda h, kind: 60

    def power(h):
        raise RuntimeError("not supported")

    m.nvmlDeviceGetPowerUsage = power
    return m


def test_gpus_through_nvml(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", _fake_nvml(2))
    notices = []
    collect(0.01, 2, tmp_path / "r.jsonl", host="h", notice=notices.append)
    rows = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    gpus = [r for r in rows if r["device"] != "cpu"]
    assert not notices and len(rows) == 6 and len(gpus) == 4
    g1 = next(r for r in gpus if r["device"] == "gpu1")
    assert (g1["gpu_util_pct"], g1["gpu_mem_used_mb"], g1["gpu_mem_total_mb"], g1["temperature_c"], g1["power_w"]) == (
        41.0,
        2048.0,
        81920.0,
        60.0,
        None,
    )
