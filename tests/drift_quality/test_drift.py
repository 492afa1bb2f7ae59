"""Drift of request features and prompt descriptors: fires on the simulated drift, quiet on quiet days."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

from monitor_pipeline.drift_quality.drift import DriftSettings, NotEnoughData, compare
from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
from monitor_pipeline.ingest.request import build_request
from monitor_pipeline.simulate import simulate

pytestmark = pytest.mark.slow


def _warehouse(tmp, incidents: bool):
    simulate(tmp / "sim", days=3, requests_per_day=6000, seed=5, with_incidents=incidents)
    db = tmp / "w.duckdb"
    DuckDBEngine(db).ingest(build_request([str(p) for p in sorted((tmp / "sim").glob("requests-*.jsonl"))], "jsonl"))
    return duckdb.connect(str(db), read_only=True)


@pytest.fixture(scope="module")
def quiet(tmp_path_factory):
    """Three days without incidents, simulated and ingested once: the tests that use them only read."""
    con = _warehouse(tmp_path_factory.mktemp("quiet"), incidents=False)
    yield con
    con.close()


def _day(con, day):
    return con.execute("SELECT * FROM requests WHERE partition_date = ?", [day]).df()


def _evening(con, day):
    return con.execute(
        "SELECT * FROM requests WHERE partition_date = ? AND hour(timestamp AT TIME ZONE 'UTC') >= 21", [day]
    ).df()


def test_fires_on_prompt_length_drift(tmp_path):
    con = _warehouse(tmp_path, incidents=True)
    # The prompt-length drift runs from ~20:00 of the last day to its end: the same evening hours a day apart.
    r = compare(_evening(con, dt.date(2026, 11, 18)), _evening(con, dt.date(2026, 11, 19)), DriftSettings(min_rows=100))
    assert r.share > 0.25 and {"input_tokens", "prompt_length", "prompt_words"} <= set(r.drifted)
    assert r.columns["input_tokens"]["method"].startswith(("Wasserstein", "K-S"))  # K-S below 1000 rows a side
    assert r.columns["model"]["method"].startswith(("Jensen", "chi-square"))
    html = r.save_html(tmp_path / "r.html")
    assert html.stat().st_size > 100_000 and b"<html" in html.read_bytes()[:2000].lower()


def test_quiet_days_do_not_drift(quiet):
    con = quiet
    r = compare(_day(con, dt.date(2026, 11, 17)), _day(con, dt.date(2026, 11, 18)))
    assert r.share <= 0.25 and "input_tokens" not in r.drifted and "prompt_length" not in r.drifted


def test_a_column_empty_on_one_side_is_skipped_not_fatal(quiet):
    con = quiet
    ref, cur = _day(con, dt.date(2026, 11, 17)), _day(con, dt.date(2026, 11, 18))
    ref["ttft_ms"] = np.nan  # a gateway that logged no time to first token that day
    r = compare(ref, cur)
    assert r.skipped_columns == ["ttft_ms"] and "ttft_ms" not in r.columns and "latency_ms" in r.columns


def test_tiny_reference_is_a_clear_skip(quiet):
    con = quiet
    with pytest.raises(NotEnoughData, match="reference has 10 rows"):
        compare(_day(con, dt.date(2026, 11, 17)).head(10), _day(con, dt.date(2026, 11, 18)), DriftSettings())


@pytest.mark.usefixtures("torch_on_every_core")
def test_prompt_embedding_drift_separates_topics_not_samples():
    from monitor_pipeline.drift_quality.drift import embedding_drift
    from monitor_pipeline.simulate.text import prompts

    rng = np.random.default_rng(4)
    service = pd.Series(prompts(rng, 800))  # the simulator's support/chat prompts
    code = pd.Series(
        [
            f"Write a Python function that sorts a list of {i} integers and add unit tests."
            if i % 2
            else f"Fix this SQL query: SELECT * FROM t{i} WHERE id = NULL"
            for i in rng.integers(0, 10_000, 400)
        ]
    )
    # Below a few hundred rows a side the classifier's ROC-AUC wobbles around the 0.55 threshold by chance.
    same = embedding_drift(service[:400], service[400:], rows=400)
    shifted = embedding_drift(service[:400], code, rows=400)
    assert not same["drifted"] and shifted["drifted"] and shifted["score"] > 0.9
