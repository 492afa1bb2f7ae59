"""Write simulated columns as the formats the pipeline ingests (byte-for-byte deterministic)."""

from __future__ import annotations

import json

import numpy as np

ERROR_TYPES = {429: "rate_limited", 500: "internal_error", 503: "unavailable", 504: "timeout"}


def iso_ms(ts: np.ndarray) -> np.ndarray:
    """Epoch seconds -> '2026-11-20T00:00:00.123Z' strings."""
    return np.char.add(np.datetime_as_string((ts * 1000).astype("datetime64[ms]"), unit="ms"), "Z")


def request_lines(
    c: dict[str, np.ndarray], rng: np.random.Generator, bad_share: float = 0.0005
) -> tuple[list[str], int]:
    """Canonical JSON lines for request columns, with a few realistic bad lines; returns (lines, bad count)."""
    quoted: dict[str, str] = {}
    times = iso_ms(c["ts"])
    lines = []
    for i in range(len(times)):
        p = c["prompt"][i]
        q = quoted.get(p) or quoted.setdefault(p, json.dumps(p))
        err = bool(c["error"][i])
        http = int(c["http_status"][i])
        rec = (
            f'{{"timestamp": "{times[i]}", "request_id": "{c["request_id"][i]}", "model": "{c["model"][i]}", '
            f'"user_id": "{c["user_id"][i]}", "client_ip": "{c["client_ip"][i]}", "operation": "{c["operation"][i]}", '
            f'"input_tokens": {int(c["input_tokens"][i])}, "output_tokens": {int(c["output_tokens"][i])}, '
            f'"latency_ms": {c["latency_ms"][i]:.1f}, "ttft_ms": {c["ttft_ms"][i]:.1f}, '
            f'"status": "{"error" if err else "ok"}", '
            f'"error_type": {json.dumps(ERROR_TYPES.get(http)) if err else "null"}, "http_status": {http}, '
            f'"prompt": {q}, '
        )
        if c["classify"][i]:
            rec += f'"prediction": "{c["prediction"][i]}", "label": "{c["label"][i]}", "score": {c["score"][i]:.4f}, '
        # One API key per user: the key's alias, as gateways log it (never the secret itself).
        lines.append(rec + f'"batch_size": {int(c["batch_size"][i])}, "api_key_id": "key-{c["user_id"][i][5:]}"}}')
    bad = np.flatnonzero(rng.random(len(lines)) < bad_share)
    for j, i in enumerate(bad.tolist()):
        line = lines[i]
        lines[i] = [
            line[: len(line) // 2],  # a write cut off mid-line
            line.replace('"latency_ms": ', '"latency_ms": -'),
            line.replace('"input_tokens": ', '"input_tokens": "n/a", "x": '),
        ][j % 3]
    return lines, len(bad)


def resource_lines(rows: dict[str, np.ndarray]) -> list[str]:
    """JSON lines in the `resources` schema (null for a metric a row does not have)."""
    times = iso_ms(rows["ts"])
    out = []
    metrics = (
        "gpu_util_pct",
        "gpu_mem_used_mb",
        "gpu_mem_total_mb",
        "cpu_util_pct",
        "mem_used_mb",
        "mem_total_mb",
        "temperature_c",
        "power_w",
    )
    for i in range(len(times)):
        parts = [f'"timestamp": "{times[i]}", "host": "{rows["host"][i]}", "device": "{rows["device"][i]}"']
        for k in metrics:
            v = rows[k][i]
            parts.append(f'"{k}": {"null" if np.isnan(v) else f"{v:.1f}"}')
        out.append("{" + ", ".join(parts) + "}")
    return out
