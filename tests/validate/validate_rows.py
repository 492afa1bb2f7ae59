"""Canonical request rows of one day for the validation tests."""

from __future__ import annotations

import datetime as dt

import pandas as pd

DAY = dt.date(2026, 11, 20)
START = pd.Timestamp(DAY, tz="UTC")


def request_rows(n: int, unit: str = "min") -> pd.DataFrame:
    """n clean requests of DAY, one every `unit` from midnight."""
    return pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(n)],
            "model": "m",
            "status": "ok",
            "timestamp": START + pd.to_timedelta(range(n), unit=unit),
            "latency_ms": 100.0,
            "ttft_ms": 10.0,
            "input_tokens": 5,
            "output_tokens": 5,
            "http_status": 200,
            "error_type": None,
        }
    )
