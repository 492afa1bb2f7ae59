"""Numbers in alert messages read like a person writes them, with the metric's unit."""

from __future__ import annotations

import pytest

from monitor_pipeline.alerts.numbers import MS, NONE, PERCENT, SHARE, Unit, number, unit_of


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (28190.4, MS, "28,190 ms"),
        (2.819e4, NONE, "28,190"),
        (0.136, SHARE, "13.6 %"),
        (0.05, SHARE, "5.0 %"),
        (97.25, PERCENT, "97.3 %"),
        (1234.5, NONE, "1,235"),
        (412.0, NONE, "412"),
        (13.55, NONE, "13.6"),
        (1.25, NONE, "1.25"),
        (0.0123, NONE, "0.0123"),
        (-0.5, NONE, "-0.5"),
        (0, NONE, "0"),
        (3.2e18, NONE, "3.2 × 10¹⁸"),
        (4.2e-7, NONE, "4.2 × 10⁻⁷"),
        (1e-5, SHARE, "0.001 %"),
        (12.5, Unit("/s"), "12.5/s"),
        (135.0, Unit("min"), "135 min"),
        (float("nan"), NONE, "NaN"),
        (float("inf"), MS, "∞ ms"),
        (None, MS, "n/a"),
    ],
)
def test_number(value, unit, text):
    assert number(value, unit) == text


@pytest.mark.parametrize(
    ("key", "detail", "unit"),
    [
        ("anomaly:requests.latency_p95_ms", None, MS),
        ("anomaly:requests.error_rate", None, SHARE),
        ("check.drift_share_below_threshold:drift_report", None, SHARE),
        ("resource.time_to_threshold:gpu-0:0:gpu_util", None, PERCENT),
        ("resource.time_to_threshold:gpu-0:0:gpu_memory", None, SHARE),
        ("anomaly:requests.output_tokens_per_s", None, Unit("/s")),
        ("anomaly:requests.count", None, NONE),
        ("data.no_data:seed", "minutes", Unit("min")),
    ],
)
def test_unit_of(key, detail, unit):
    assert unit_of(key, detail) == unit
