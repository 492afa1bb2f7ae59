"""The live loop's SQL evaluation of a suite agrees with Great Expectations itself on the same frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from paths import ROOT
from validate_rows import DAY, START, request_rows

from monitor_pipeline.validate.run import partition_parameters
from monitor_pipeline.validate.sql_expectations import evaluate, supported
from monitor_pipeline.validate.suites import load_suite, read_suite, validate

SUITE = ROOT / "expectations" / "requests.json"


def _damaged(seed: int) -> pd.DataFrame:
    """A day of requests with every kind of fault the suite looks for, at random rows."""
    rng = np.random.default_rng(seed)
    df = request_rows(300, "min")
    n = len(df)

    def some(k: int) -> np.ndarray:
        return rng.choice(n, k, replace=False)

    df = df.astype({"request_id": object, "model": object, "status": object, "error_type": object})
    df.loc[some(3), "request_id"] = None
    df.loc[some(4), "request_id"] = "dup"  # four copies: all four unexpected
    df.loc[some(2), "timestamp"] = START + pd.Timedelta(days=1)  # the partition's end: strict_max
    df.loc[some(2), "timestamp"] = START - pd.Timedelta(seconds=1)
    df.loc[some(3), "model"] = None
    df.loc[some(3), "model"] = "bad model <script>"
    df.loc[some(5), "status"] = "weird"
    df.loc[some(4), "latency_ms"] = -1.0
    df.loc[some(2), "latency_ms"] = np.nan  # nulls are not unexpected for between
    df.loc[some(3), "http_status"] = 700
    df.loc[some(3), "error_type"] = "nope"
    df.loc[some(2), "error_type"] = "timeout"
    return df


@pytest.mark.parametrize("seed", [0, 1])
def test_sql_gives_gx_results_on_a_damaged_day(seed):
    frame = _damaged(seed)
    params = partition_parameters(DAY)
    gx = validate(frame, load_suite(SUITE), params, sample_rows=10_000)
    sql = evaluate(read_suite(SUITE), frame, params)
    assert [(e.type, e.column, e.severity) for e in sql.expectations] == [
        (e.type, e.column, e.severity) for e in gx.expectations
    ]
    for ours, theirs in zip(sql.expectations, gx.expectations, strict=True):
        assert ours.success == theirs.success, (ours, theirs)
        assert ours.unexpected_count == theirs.unexpected_count, (ours, theirs)
        if theirs.unexpected_percent is not None:
            assert ours.unexpected_percent == pytest.approx(theirs.unexpected_percent), (ours, theirs)
    assert not all(e.success for e in sql.expectations)  # the damage is seen


def test_a_clean_day_passes_and_mostly_is_honoured():
    frame = request_rows(100, "min")
    params = partition_parameters(DAY)
    assert all(e.success for e in evaluate(read_suite(SUITE), frame, params).expectations)
    frame.loc[:4, "status"] = "weird"  # 5 %
    suite = {
        "name": "s",
        "expectations": [
            {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "status", "value_set": ["ok"]}},
            {
                "type": "expect_column_values_to_be_in_set",
                "kwargs": {"column": "status", "value_set": ["ok"], "mostly": 0.9},
            },
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "missing_column"}},
        ],
    }
    first, second, missing = evaluate(suite, frame, params).expectations
    assert (first.success, first.unexpected_count, first.sample[:1]) == (False, 5, ["weird"])
    assert second.success and not missing.success and "does not exist" in (missing.error or "")


def test_only_known_types_are_supported():
    suite = read_suite(SUITE)
    assert supported(suite) and supported(suite, "critical")
    other = {"expectations": [{"type": "expect_column_kl_divergence_to_be_less_than", "kwargs": {}}]}
    assert not supported(other) and supported(other, "warning") is True
