"""Great Expectations suites from JSON: loud loading, results per expectation, sampling."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from paths import ROOT
from validate_rows import request_rows

from monitor_pipeline.errors import ConfigError
from monitor_pipeline.validate.suites import load_suite, validate

START = pd.Timestamp("2026-11-20", tz="UTC")
PARAMS = {"partition_start": START, "partition_end": START + pd.Timedelta(days=1)}


@pytest.mark.parametrize("name", ["requests", "request_windows", "resources"])
def test_shipped_suites_load(name):
    suite = load_suite(ROOT / "expectations" / f"{name}.json")
    assert len(suite.expectations) == len(
        json.loads((ROOT / "expectations" / f"{name}.json").read_text())["expectations"]
    )


@pytest.mark.parametrize(
    "exp,message",
    [
        (
            {"type": "expect_column_values_to_be_betwen", "kwargs": {"column": "a"}},
            "does not know this expectation type",
        ),
        ({"type": "expect_column_values_to_be_between", "kwargs": {"colum": "a", "min_value": 0}}, "expectations[1]"),
        (
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}, "severity": "fatal"},
            "severity must be",
        ),
        ({"kwargs": {"column": "a"}}, "needs a `type`"),
    ],
)
def test_invalid_expectations_fail_loudly(tmp_path, exp, message):
    p = tmp_path / "s.json"
    p.write_text(
        json.dumps(
            {
                "name": "s",
                "expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}}, exp],
            }
        )
    )
    with pytest.raises(ConfigError) as e:
        load_suite(p)
    assert str(p) in str(e.value) and message in str(e.value) and "expectations[1]" in str(e.value)


def _df(n: int = 50) -> pd.DataFrame:
    return request_rows(n, "min")


def test_clean_frame_passes():
    out = validate(_df(), load_suite(ROOT / "expectations" / "requests.json"), PARAMS)
    assert all(e.success for e in out.expectations) and not out.sampled


def test_failures_by_severity_with_counts_and_samples():
    df = _df()
    df.loc[3, "latency_ms"] = -5.0  # critical
    df.loc[4, "timestamp"] = START + pd.Timedelta(days=2)  # critical: outside the partition
    df.loc[5, "ttft_ms"] = 999_999.0  # warning
    df.loc[6, "request_id"] = "r0"  # critical: not unique
    out = validate(df, load_suite(ROOT / "expectations" / "requests.json"), PARAMS)
    crit = {(e.type, e.column): e for e in out.failed("critical")}
    assert set(crit) == {
        ("expect_column_values_to_be_between", "latency_ms"),
        ("expect_column_values_to_be_between", "timestamp"),
        ("expect_column_values_to_be_unique", "request_id"),
    }
    lat = crit[("expect_column_values_to_be_between", "latency_ms")]
    assert lat.unexpected_count == 1 and lat.unexpected_percent == pytest.approx(2.0) and lat.sample == ["-5.0"]
    assert [(e.type, e.column) for e in out.failed("warning")] == [("expect_column_values_to_be_between", "ttft_ms")]


def test_large_frames_are_sampled_and_counts_scaled():
    df = _df(3000)
    df.loc[::10, "latency_ms"] = -1.0
    out = validate(df, load_suite(ROOT / "expectations" / "requests.json"), PARAMS, sample_rows=1000)
    lat = next(e for e in out.expectations if e.column == "latency_ms")
    assert out.sampled and out.validated_rows == 1000 and out.rows == 3000
    assert 200 < lat.unexpected_count < 400  # about 300 of 3000, estimated from the sample
