"""engine_windows from a hand-written scrape file: gauges, counter rates across a restart, histogram quantiles."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
from monitor_pipeline.ingest.request import build_request

T0 = dt.datetime(2026, 11, 17, 10, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def _scrapes() -> str:
    """Seven scrapes a minute apart of instance a (model m) and one of instance b (model n)."""
    lines = ["# hand-written: every value below is chosen so the expected windows can be computed by hand"]
    prompt = [100, 160, 220, 40, 100, 160, 220]  # 220 -> 40: the engine restarted
    for k in range(7):
        ms = int((T0 + dt.timedelta(minutes=k)).timestamp() * 1000)
        a = 'instance="a:8000",model_name="m"'
        lines += [
            f"vllm:num_requests_running{{{a}}} {k + 1} {ms}",
            f"vllm:kv_cache_usage_perc{{{a}}} {0.1 * (k + 1):.1f} {ms}",
            f"vllm:gpu_cache_usage_perc{{{a}}} 0.9 {ms}",  # the older name of the same gauge: not used twice
            f"vllm:prompt_tokens_total{{{a}}} {prompt[k]} {ms}",
            f'vllm:time_to_first_token_seconds_bucket{{{a},le="0.1"}} {2 * k} {ms}',
            f'vllm:time_to_first_token_seconds_bucket{{{a},le="0.5"}} {5 * k} {ms}',
            f'vllm:time_to_first_token_seconds_bucket{{{a},le="+Inf"}} {6 * k} {ms}',
        ]
    lines.append(f'sglang:num_running_reqs{{instance="b:30000",model_name="n"}} 9 {int(T0.timestamp() * 1000)}')
    return "\n".join(lines) + "\n"


@pytest.fixture
def windows(tmp_path):
    path = tmp_path / "engine.prom"
    path.write_text(_scrapes())
    db = tmp_path / "w.duckdb"
    result = DuckDBEngine(db).ingest(build_request([str(path)], "prometheus", now=NOW))
    assert (result.quarantined, result.engine_windows_5m, result.engine_windows_1h) == (0, 3, 2)
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT * FROM engine_windows ORDER BY window_size, serving_engine, instance, window_start").df()
    return {(r.window_size, r.instance, r.window_start.minute): r for r in rows.itertuples()}


def test_gauges_are_averaged_and_the_preferred_name_wins(windows):
    w = windows[("5m", "a:8000", 0)]
    assert (w.serving_engine, w.model, w.samples) == ("vllm", "m", 5)
    assert (w.running_mean, w.running_max) == (3.0, 5.0)
    assert w.kv_cache_usage_mean == pytest.approx(0.3)  # 0.1..0.5, not the 0.9 of gpu_cache_usage_perc
    assert w.kv_cache_usage_max == pytest.approx(0.5)
    b = windows[("5m", "b:30000", 0)]
    assert (b.serving_engine, b.model, b.running_max) == ("sglang", "n", 9.0)


def test_counter_rates_count_a_restart_as_its_new_value(windows):
    # 10:01-10:04 end four pairs: +60, +60, +40 (restart: 40 counted since), +60 = 220 tokens over 240 s.
    assert windows[("5m", "a:8000", 0)].prompt_tokens_per_s == pytest.approx(220 / 240)
    assert windows[("5m", "a:8000", 5)].prompt_tokens_per_s == pytest.approx(120 / 120)
    assert windows[("1h", "a:8000", 0)].prompt_tokens_per_s == pytest.approx(340 / 360)


def test_histogram_quantiles_come_from_the_window_bucket_increases(windows):
    w = windows[("5m", "a:8000", 0)]
    # Four pairs each add (2, 5, 6) to (le 0.1, le 0.5, +Inf): (8, 20, 24). p50: rank 12 in (0.1, 0.5] holding 12
    # observations above the 8 below it: 0.1 + 0.4 * 4/12. p95: rank 22.8 is past 0.5, in +Inf: 0.5.
    assert w.ttft_p50_s == pytest.approx(0.1 + 0.4 * 4 / 12)
    assert w.ttft_p95_s == pytest.approx(0.5)
    assert w.ttft_p99_s == pytest.approx(0.5)
    assert w.tpot_p50_s is None or w.tpot_p50_s != w.tpot_p50_s  # no TPOT histogram: null


def test_the_engine_windows_suite_passes_real_windows_and_catches_a_percentage_read_as_a_share(tmp_path):
    from paths import ROOT

    from monitor_pipeline.validate.run import run_suite
    from monitor_pipeline.validate.suites import load_suite

    path = tmp_path / "engine.prom"
    path.write_text(_scrapes())
    db = tmp_path / "w.duckdb"
    DuckDBEngine(db).ingest(build_request([str(path)], "prometheus", now=NOW))
    rows = duckdb.connect(str(db), read_only=True).execute("SELECT * FROM engine_windows").df()
    suite = load_suite(ROOT / "expectations" / "engine_windows.json")
    ok = run_suite(suite, rows, T0.date(), total=len(rows), sample_rows=1000)
    assert ok.failed("critical") == [] and ok.failed("warning") == []
    rows.loc[0, "kv_cache_usage_max"] = 25.4  # "GPU KV cache usage: 25.4%" stored without dividing by 100
    bad = run_suite(suite, rows, T0.date(), total=len(rows), sample_rows=1000)
    assert [o.column for o in bad.failed("critical")] == ["kv_cache_usage_max"]


def test_a_real_vllm_stats_log_gives_the_same_windows_as_its_lines(tmp_path):
    """tests/data/real/vllm_server_v0.log: 15 stats lines, 17:59:55 to 18:01:19 (year from `time.year`)."""
    from paths import ROOT

    from monitor_pipeline.ingest.formats.options import ReadOptions, TimeSpec

    db = tmp_path / "w.duckdb"
    path = ROOT / "tests" / "data" / "real" / "vllm_server_v0.log"
    opts = ReadOptions(time=TimeSpec(year=2025))
    result = DuckDBEngine(db).ingest(build_request([str(path)], "auto", now=NOW, options=opts))
    assert (result.by_table["engine_log"]["clean"], result.engine_windows_5m) == (15, 2)
    w = (
        duckdb.connect(str(db), read_only=True)
        .execute("SELECT * FROM engine_windows WHERE window_size = '5m' AND window_start = '2025-03-06 18:00:00Z'")
        .df()
        .iloc[0]
    )
    # 14 lines from 18:00:00: Pending 390, 344, 296, 237, 191, 142, 92, 49 then 0 x 6; GPU KV cache peaks at 72.7 %.
    assert (w.serving_engine, w.samples, w.waiting_max, w.running_max) == ("vllm", 14, 390, 96)
    assert w.waiting_mean == pytest.approx(1741 / 14)
    assert w.kv_cache_usage_max == pytest.approx(0.727)
    assert w.model.endswith("opt-1.3b") and w.instance  # the model from the log's head; the source names the instance
