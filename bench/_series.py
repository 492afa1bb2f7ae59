"""Real series for bench/forecast.py, read from ../shared/data (NAB, ServeGen, Azure LLM traces, Mooncake).

NAB realTraffic is left out: its irregular samples leave 25-50% of any regular grid empty (clean_series refuses > 20%).

Each series is a regular grid of values with its season (steps per daily cycle, or 1 where the trace is an hour long
and has no cycle to learn), the forecast horizon, the number of rolling origins and the phase of its first point.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


@dataclass
class Series:
    """One benchmark series: values on a regular grid and how to backtest it."""

    name: str
    y: np.ndarray
    season: int
    horizon: int
    folds: int
    phase0: int
    step: str  # grid spacing, for the report
    window: int | None = None  # RNN input window (None: the model's default)


def _phase(ts: pd.Timestamp, seconds: int) -> int:
    return int((ts.hour * 3600 + ts.minute * 60 + ts.second) // seconds)


def nab(rel: str, name: str, freq: str = "5min", season: int = 288, folds: int = 24, last: int | None = None) -> Series:
    """A NAB `timestamp,value` file on a regular grid (mean per bin, gaps interpolated), optionally its `last` points."""
    df = pd.read_csv(DATA / "NAB" / "data" / rel, parse_dates=["timestamp"])
    s = df.set_index("timestamp")["value"].astype(float).resample(freq).mean().interpolate(limit_direction="both")
    s = s.iloc[-last:] if last else s
    sec = int(pd.Timedelta(freq).total_seconds())
    return Series(name, s.to_numpy(), season, 12, folds, _phase(s.index[0], sec), freq)


def servegen(name: str = "servegen_mlarge_rate") -> Series:
    """ServeGen language/m-large: request rate summed over the 162 clients, 600-s windows, 14 days (season 144)."""
    total: pd.Series | None = None
    for f in sorted((DATA / "servegen" / "language" / "m-large").glob("chunk-*-trace.csv")):
        s = pd.read_csv(f, header=None, usecols=[0, 1], names=["t", "rate"]).groupby("t")["rate"].sum()
        total = s if total is None else total.add(s, fill_value=0.0)
    assert total is not None, "no ServeGen chunk files found"
    total = total.sort_index()
    grid = np.arange(int(total.index.min()), int(total.index.max()) + 600, 600)
    return Series(name, total.reindex(grid).interpolate().to_numpy(), 144, 12, 24, 0, "600s")


def _bucket(seconds: np.ndarray, weights: np.ndarray | None, width: float) -> np.ndarray:
    edges = np.arange(0.0, seconds.max() + width, width)
    counts, _ = np.histogram(seconds, bins=edges, weights=weights)
    return counts[:-1] if len(counts) > 1 else counts  # the last bucket is cut short by the end of the trace


def azure(service: str, what: str, width: int = 10) -> Series:
    """Azure LLM inference 2023 (`code` or `conv`): requests or tokens (context + generated) per `width` seconds."""
    df = pd.read_csv(
        DATA / "azure-llm-inference-2023" / f"AzureLLMInferenceTrace_{service}.csv", parse_dates=["TIMESTAMP"]
    )
    sec = (df["TIMESTAMP"] - df["TIMESTAMP"].min()).dt.total_seconds().to_numpy()
    w = None if what == "requests" else (df["ContextTokens"] + df["GeneratedTokens"]).to_numpy(float)
    # One hour, no daily cycle: season 1 (the baseline is "same as the last interval"), a 30-step RNN window.
    return Series(f"azure_{service}_{what}_{width}s", _bucket(sec, w, width), 1, 6, 24, 0, f"{width}s", window=30)


def mooncake(what: str, width: int = 10) -> Series:
    """Mooncake (Kimi) conversation trace: requests or tokens (input + output) per `width` seconds, ~1 hour."""
    rows = [json.loads(line) for line in (DATA / "mooncake" / "conversation_trace.jsonl").open()]
    sec = np.array([r["timestamp"] for r in rows], float) / 1000.0
    w = None if what == "requests" else np.array([r["input_length"] + r["output_length"] for r in rows], float)
    return Series(f"mooncake_{what}_{width}s", _bucket(sec, w, width), 1, 6, 24, 0, f"{width}s", window=30)


CATALOG = {
    "servegen_mlarge_rate": servegen,
    "nab_nyc_taxi": lambda: nab("realKnownCause/nyc_taxi.csv", "nab_nyc_taxi", "30min", 48),
    "nab_elb_request_count": lambda: nab("realAWSCloudwatch/elb_request_count_8c0756.csv", "nab_elb_request_count"),
    "nab_ec2_cpu_5f5533": lambda: nab("realAWSCloudwatch/ec2_cpu_utilization_5f5533.csv", "nab_ec2_cpu_5f5533"),
    "nab_rds_cpu_cc0c53": lambda: nab("realAWSCloudwatch/rds_cpu_utilization_cc0c53.csv", "nab_rds_cpu_cc0c53"),
    # Its last 30 days only (the benchmark's training-size target); the first 33 days would double the fit time.
    "nab_asg_cpu": lambda: nab("realKnownCause/cpu_utilization_asg_misconfiguration.csv", "nab_asg_cpu", last=8640),
    "nab_ec2_network_in_257a54": lambda: nab(
        "realAWSCloudwatch/ec2_network_in_257a54.csv", "nab_ec2_network_in_257a54"
    ),
    "azure_code_requests_10s": lambda: azure("code", "requests"),
    "azure_code_tokens_10s": lambda: azure("code", "tokens"),
    "azure_conv_requests_10s": lambda: azure("conv", "requests"),
    "azure_conv_tokens_10s": lambda: azure("conv", "tokens"),
    "mooncake_requests_10s": lambda: mooncake("requests"),
    "mooncake_tokens_10s": lambda: mooncake("tokens"),
}
QUICK = ("servegen_mlarge_rate", "nab_elb_request_count", "azure_conv_requests_10s")


def load(name: str) -> Series:
    """The named series (see CATALOG)."""
    if name not in CATALOG:
        raise SystemExit(f"unknown series {name!r}; choose from: {', '.join(CATALOG)}")
    return CATALOG[name]()


def month_of_5min() -> tuple[str, np.ndarray, int]:
    """30 days of real 5-minute values (8640 points): the last 30 days of NAB's cpu_utilization_asg_misconfiguration."""
    s = nab("realKnownCause/cpu_utilization_asg_misconfiguration.csv", "asg", last=8640)
    return "nab realKnownCause/cpu_utilization_asg_misconfiguration (last 8640 5-min points)", s.y, s.phase0
