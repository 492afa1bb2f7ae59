"""Serving-engine signals (issue 16): vLLM server logs (format `vllm_log`) and /metrics scrapes of SGLang and TGI
(format `prometheus`), read into `gauges`.

Real files are in tests/data/real (sources and licenses in its README), made-up ones in tests/data/made_up (its
README says why). Expected values are worked out by hand from the files; the comment beside each says from which line.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil

import duckdb
import pytest
from paths import ROOT

from monitor_pipeline.errors import InputError
from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
from monitor_pipeline.ingest.formats import detect_format
from monitor_pipeline.ingest.formats.options import ReadOptions, TimeSpec
from monitor_pipeline.ingest.request import build_request
from monitor_pipeline.ingest.serving.windows import log_samples

REAL = ROOT / "tests" / "data" / "real"
MADE_UP = ROOT / "tests" / "data" / "made_up"
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
UTC = dt.UTC
V0_MODEL = "/gpfs/scratch/bsc98/bsc098069/llm_benchmarking/models/opt/opt-1.3b"  # served_model_name=, line 9
V1_MODEL = "cyankiwi/gemma-4-26B-A4B-it-qat-AWQ-INT4"  # served_model_name=, line 19


def _ingest(tmp_path, path, fmt="auto", options=None, now=NOW):
    db = tmp_path / "w.duckdb"
    result = DuckDBEngine(db).ingest(build_request([str(path)], fmt, now=now, options=options))
    con = duckdb.connect(str(db), read_only=True)
    log = con.execute("SELECT * FROM engine_log").df()
    con.register("log_gauges", log_samples(log.assign(partition_date=log["partition_date"].dt.date)))
    return result, con


def _accounted(result) -> dict:
    s = result.summary()  # raises when read != clean + quarantined + skipped + other days
    assert s["read"] == sum(f["lines"] for f in s["files"].values())
    return s


def _lines(path) -> int:
    data = path.read_bytes()
    return data.count(b"\n") + (not data.endswith(b"\n"))


def _year(y: int, zone: str | None = None) -> ReadOptions:
    return ReadOptions(time=TimeSpec(year=y, timezone=zone))


def _at_line(con, line: int) -> dict[str, float]:
    return dict(con.execute("SELECT metric, value FROM log_gauges WHERE source_line = ?", [line]).fetchall())


# --- vLLM server logs -----------------------------------------------------------------------------------------------


def test_vllm_v0_log_statistics_lines_become_vllm_gauges(tmp_path):
    path = REAL / "vllm_server_v0.log"
    assert detect_format(path) == "vllm_log"
    result, con = _ingest(tmp_path, path, options=_year(2025))
    _accounted(result)
    # 633 lines: 15 statistics lines (a record each), the 618 others (startup, routes, access log) skipped.
    assert (result.read, result.clean, result.quarantined, result.skipped) == (633, 15, 0, 618)
    assert result.by_skip == {"not_stats": 618}
    assert con.execute("SELECT reason, count(*) FROM skipped_lines GROUP BY 1").fetchall() == [("not_stats", 618)]
    assert con.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)
    # One row per statistics line for each of the seven values a V0 line holds.
    per_metric = dict(con.execute("SELECT metric, count(*) FROM log_gauges GROUP BY 1").fetchall())
    assert per_metric == {
        m: 15
        for m in (
            "vllm:avg_prompt_throughput_toks_per_s",
            "vllm:avg_generation_throughput_toks_per_s",
            "vllm:num_requests_running",
            "vllm:num_requests_swapped",
            "vllm:num_requests_waiting",
            "vllm:gpu_cache_usage_perc",
            "vllm:cpu_cache_usage_perc",
        )
    }
    # Line 542: `INFO 03-06 18:00:00 metrics.py:360] Avg prompt throughput: 2688.8 tokens/s, Avg generation
    # throughput: 548.6 tokens/s, Running: 96 reqs, Swapped: 0 reqs, Pending: 390 reqs, GPU KV cache usage: 25.4%,
    # CPU KV cache usage: 0.0%.` Pending is vLLM's waiting queue; a percentage is stored as the gauge's fraction.
    assert _at_line(con, 542) == {
        "vllm:avg_prompt_throughput_toks_per_s": 2688.8,
        "vllm:avg_generation_throughput_toks_per_s": 548.6,
        "vllm:num_requests_running": 96.0,
        "vllm:num_requests_swapped": 0.0,
        "vllm:num_requests_waiting": 390.0,
        "vllm:gpu_cache_usage_perc": 0.254,
        "vllm:cpu_cache_usage_perc": 0.0,
    }
    assert con.execute("SELECT DISTINCT timestamp FROM log_gauges WHERE source_line = 542").fetchall() == [
        (dt.datetime(2025, 3, 6, 18, 0, tzinfo=UTC),)
    ]
    # The queue drains 390 -> 344 -> ... -> 49 -> 0 (lines 542-590); the cache peaks at 72.7 % on line 584.
    waiting = [
        v
        for (v,) in con.execute(
            "SELECT value FROM log_gauges WHERE metric = 'vllm:num_requests_waiting' ORDER BY timestamp"
        ).fetchall()
    ]
    assert waiting[:10] == [0, 390, 344, 296, 237, 191, 142, 92, 49, 0]
    assert con.execute(
        "SELECT source_line, value FROM log_gauges WHERE metric = 'vllm:gpu_cache_usage_perc' ORDER BY value DESC LIMIT 1"
    ).fetchone() == (584, 0.727)
    # Labels: the model as vLLM's own scrape labels it (served_model_name, line 9), and that it came from a log.
    assert [json.loads(x) for (x,) in con.execute("SELECT DISTINCT labels FROM log_gauges").fetchall()] == [
        {"model_name": V0_MODEL, "source_kind": "log"}
    ]
    # The year came from the source, the zone was assumed: both said.
    assert any("no year" in w and "2025" in w and "time.year" in w for w in result.warnings)
    assert any("15 timestamps carry no UTC offset" in w for w in result.warnings)


def test_vllm_v1_log_engine_label_prefix_hit_rate_and_time_zone(tmp_path):
    path = REAL / "vllm_server_v1.log"
    assert detect_format(path) == "vllm_log"
    # The DGX Spark ran on Berlin time (an assumption of this test): 11:36:53 CEST is 09:36:53 UTC.
    result, con = _ingest(tmp_path, path, options=_year(2026, "Europe/Berlin"))
    _accounted(result)
    assert _lines(path) == 259
    # 29 `Engine 000:` statistics lines; every other line (banner, progress bars, access log, shutdown) skipped.
    assert (result.read, result.clean, result.quarantined, result.skipped) == (259, 29, 0, 230)
    assert result.by_skip == {"not_stats": 230}
    per_metric = dict(con.execute("SELECT metric, count(*) FROM log_gauges GROUP BY 1").fetchall())
    assert per_metric == {
        m: 29
        for m in (
            "vllm:avg_prompt_throughput_toks_per_s",
            "vllm:avg_generation_throughput_toks_per_s",
            "vllm:num_requests_running",
            "vllm:num_requests_waiting",
            "vllm:gpu_cache_usage_perc",
            "vllm:gpu_prefix_cache_hit_rate",
        )
    }
    # Line 118: `Engine 000: Avg prompt throughput: 0.8 tokens/s, Avg generation throughput: 43.8 tokens/s,
    # Running: 1 reqs, Waiting: 0 reqs, GPU KV cache usage: 0.0%, Prefix cache hit rate: 51.2%`.
    assert _at_line(con, 118) == {
        "vllm:avg_prompt_throughput_toks_per_s": 0.8,
        "vllm:avg_generation_throughput_toks_per_s": 43.8,
        "vllm:num_requests_running": 1.0,
        "vllm:num_requests_waiting": 0.0,
        "vllm:gpu_cache_usage_perc": 0.0,
        "vllm:gpu_prefix_cache_hit_rate": 0.512,
    }
    assert con.execute("SELECT DISTINCT timestamp FROM log_gauges WHERE source_line = 118").fetchall() == [
        (dt.datetime(2026, 8, 2, 9, 36, 53, tzinfo=UTC),)
    ]
    # README facts: Running peaks at 4, Waiting is always 0, GPU KV cache usage peaks at 1.9 %.
    peaks = dict(con.execute("SELECT metric, max(value) FROM log_gauges GROUP BY 1").fetchall())
    assert (
        peaks["vllm:num_requests_running"],
        peaks["vllm:num_requests_waiting"],
        peaks["vllm:gpu_cache_usage_perc"],
    ) == (4.0, 0.0, 0.019)
    # `Engine 000` is data-parallel engine 0: the `engine` label of vLLM's own V1 gauges.
    assert [json.loads(x) for (x,) in con.execute("SELECT DISTINCT labels FROM log_gauges").fetchall()] == [
        {"engine": "0", "model_name": V1_MODEL, "source_kind": "log"}
    ]
    assert not [w for w in result.warnings if "UTC offset" in w]


def test_vllm_log_year_from_the_file_modification_time(tmp_path):
    path = tmp_path / "server.log"
    shutil.copy(REAL / "vllm_server_v0.log", path)
    mtime = dt.datetime(2025, 3, 7, 12, 0, tzinfo=UTC).timestamp()  # the day after the run, as committed
    os.utime(path, (mtime, mtime))
    result, con = _ingest(tmp_path, path)
    _accounted(result)
    assert con.execute("SELECT min(timestamp), max(timestamp) FROM log_gauges").fetchone() == (
        dt.datetime(2025, 3, 6, 17, 59, 55, tzinfo=UTC),  # line 34
        dt.datetime(2025, 3, 6, 18, 1, 19, tzinfo=UTC),  # line 632
    )
    assert any("no year" in w and "modification time (2025-03-07 12:00)" in w for w in result.warnings)
    # The source's year wins over the file's.
    (tmp_path / "again").mkdir()
    result, con = _ingest(tmp_path / "again", path, options=_year(2024))
    assert con.execute("SELECT DISTINCT year(timestamp) FROM log_gauges").fetchall() == [(2024,)]
    assert not [w for w in result.warnings if "modification time" in w]


def test_vllm_log_read_in_january_dates_its_december_lines_the_year_before(tmp_path):
    """The real line 542 with its date moved across New Year, in a log whose file was last written on Jan 1st."""
    line = (REAL / "vllm_server_v0.log").read_text().split("\n")[541]
    assert line.startswith("INFO 03-06 18:00:00 ")
    path = tmp_path / "server.log"
    path.write_text(
        line.replace("03-06 18:00:00", "12-31 23:59:55")
        + "\n"
        + 'INFO:     127.0.0.1:40914 - "GET /metrics HTTP/1.1" 200 OK\n'
        + line.replace("03-06 18:00:00", "01-01 00:00:05")
        + "\n"
    )
    mtime = dt.datetime(2027, 1, 1, 0, 10, tzinfo=UTC).timestamp()
    os.utime(path, (mtime, mtime))
    result, con = _ingest(tmp_path, path, now=dt.datetime(2027, 1, 2, tzinfo=UTC))
    _accounted(result)
    assert (result.read, result.clean, result.skipped) == (3, 2, 1)
    assert con.execute(
        "SELECT source_line, timestamp, partition_date FROM log_gauges WHERE metric = 'vllm:num_requests_waiting' "
        "ORDER BY source_line"
    ).fetchall() == [
        (1, dt.datetime(2026, 12, 31, 23, 59, 55, tzinfo=UTC), dt.date(2026, 12, 31)),
        (3, dt.datetime(2027, 1, 1, 0, 0, 5, tzinfo=UTC), dt.date(2027, 1, 1)),
    ]
    assert any("read in 2027" in w and "in 2026" in w for w in result.warnings)


def test_vllm_log_statistics_line_that_cannot_be_read_is_quarantined_naming_the_field(tmp_path):
    lines = (REAL / "vllm_server_v0.log").read_text().split("\n")[:-1]  # 633 lines, each ending in \n
    lines[541] = lines[541].split(", GPU KV cache us")[0] + ", GPU KV cache us"  # line 542 cut (two writers)
    lines[547] = lines[547].replace("Running: 96 reqs", "Running: many reqs")  # line 548: not a number
    path = tmp_path / "server.log"
    # A last statistics line cut by a crash: no newline.
    path.write_text("\n".join(lines) + "\n" + lines[631].replace("18:01:19", "18:01:29")[:110])
    result, con = _ingest(tmp_path, path, options=_year(2025))
    _accounted(result)
    assert (result.read, result.clean, result.quarantined, result.skipped) == (634, 13, 3, 618)
    assert result.by_reason == {"malformed": 2, "truncated": 1}
    bad = con.execute("SELECT line_no, reason, detail FROM quarantine ORDER BY line_no").fetchall()
    assert [(n, r) for n, r, _ in bad] == [(542, "malformed"), (548, "malformed"), (634, "truncated")]
    assert "GPU KV cache usage" in bad[0][2] and "CPU KV cache usage" in bad[0][2] and "cut short" in bad[0][2]
    assert bad[1][2] == "Running: 'many reqs' is not a number of reqs"
    assert "Running" in bad[2][2] and "cut short" in bad[2][2]
    # Nothing of a bad line is stored as a gauge: the other 13 statistics lines are whole.
    assert con.execute("SELECT count(DISTINCT source_line), count(*) FROM log_gauges").fetchone() == (13, 13 * 7)


def test_vllm_log_takes_a_model_constant_but_no_field_mapping(tmp_path):
    path = REAL / "vllm_server_v0.log"
    with pytest.raises(InputError, match="no fields to map"):
        build_request([str(path)], "auto", now=NOW, options=ReadOptions(fields=(("value", "x"),)))
    opts = ReadOptions(time=TimeSpec(year=2025), constants=(("model", "facebook/opt-1.3b"),))
    result, con = _ingest(tmp_path, path, options=opts)
    assert [json.loads(x) for (x,) in con.execute("SELECT DISTINCT labels FROM log_gauges").fetchall()] == [
        {"model_name": "facebook/opt-1.3b", "source_kind": "log"}
    ]


def test_vllm_statistics_keys_are_read_in_any_order_and_unknown_ones_ignored():
    """Newer vLLM adds keys (`MM cache hit rate`, ...) and may reorder them: the line 118 text, edited so."""
    from monitor_pipeline.ingest.formats.vllm_log import parse_stats

    msg = (
        "Engine 001: Avg prompt throughput: 0.8 tokens/s, Avg generation throughput: 43.8 tokens/s, Waiting: 3 reqs, "
        "Running: 1 reqs, GPU KV cache usage: 0.0%, Prefix cache hit rate: 51.2%, MM cache hit rate: 12.5%"
    )
    engine, values = parse_stats(msg) or (None, {})
    assert engine == "1"  # `Engine 001`: data-parallel engine 1
    assert {k: float(v) for k, v in values.items()} == {
        "prompt_throughput_toks_per_s": 0.8,
        "generation_throughput_toks_per_s": 43.8,
        "waiting": 3.0,
        "running": 1.0,
        "kv_cache_usage": 0.0,
        "prefix_cache_hit_rate": 0.512,
    }
    # V0 with prefix caching logs its two hit rates on a line of their own.
    engine, values = parse_stats("Prefix cache hit rate: GPU: 43.75%, CPU: 0.00%") or ("?", {})
    assert engine is None
    assert {k: float(v) for k, v in values.items()} == {
        "prefix_cache_hit_rate": 0.4375,
        "cpu_prefix_cache_hit_rate": 0.0,
    }
    assert parse_stats("Route: /v1/completions, Methods: POST") is None


# --- /metrics scrapes of other serving engines ----------------------------------------------------------------------


def _labels(con, metric: str, **match: str) -> list[tuple[dict, float]]:
    rows = con.execute("SELECT labels, value FROM gauges WHERE metric = ?", [metric]).fetchall()
    out = [(json.loads(lab), v) for lab, v in rows]
    return [(lab, v) for lab, v in out if all(lab.get(k) == x for k, x in match.items())]


def test_sglang_scrape(tmp_path):
    path = REAL / "sglang_metrics.prom"
    at = ReadOptions(time=TimeSpec(scraped_at="2025-01-15T12:00:00+00:00"))
    assert detect_format(path, at) == "prometheus"
    result, con = _ingest(tmp_path, path, options=at)
    _accounted(result)
    # 115 lines: 12 families (# HELP + # TYPE each) and 91 samples.
    assert (result.read, result.clean, result.skipped, result.by_skip) == (115, 91, 24, {"comment": 24})
    assert con.execute("SELECT DISTINCT timestamp FROM gauges").fetchall() == [
        (dt.datetime(2025, 1, 15, 12, tzinfo=UTC),)
    ]
    llama = {"model_name": "meta-llama/Llama-3.1-8B-Instruct"}
    # Line 3: a counter written in exponent form, `sglang:prompt_tokens_total{...} 8.128902e+06`.
    assert _labels(con, "sglang:prompt_tokens_total") == [(llama, 8128902.0)]
    # Line 27: a bucket keeps its bound as the `le` label; line 36: the +Inf bucket equals the count (line 37).
    assert _labels(con, "sglang:time_to_first_token_seconds_bucket", le="1.0") == [({**llama, "le": "1.0"}, 27.0)]
    assert _labels(con, "sglang:time_to_first_token_seconds_bucket", le="+Inf") == [({**llama, "le": "+Inf"}, 11008.0)]
    assert _labels(con, "sglang:time_to_first_token_seconds_count") == [(llama, 11008.0)]
    # Line 85: a bound written with float noise is kept as written; line 115: the queue gauge.
    assert _labels(con, "sglang:func_latency_seconds_bucket", le="0.07500000000000001") == [
        ({"le": "0.07500000000000001", "name": "generate_request"}, 14006.0)
    ]
    assert _labels(con, "sglang:num_queue_reqs") == [(llama, 2826.0)]
    assert con.execute("SELECT count(*) FROM gauges WHERE metric LIKE '%\\_bucket' ESCAPE '\\'").fetchone() == (
        21 + 16 + 19 + 19,  # TTFT, e2e latency, TPOT, func latency buckets, +Inf included
    )


def test_tgi_scrape_made_up(tmp_path):
    """Made-up sample (tests/data/made_up/README.md): no public file holds a real TGI scrape; values by hand there."""
    path = MADE_UP / "tgi_metrics.prom"
    at = ReadOptions(time=TimeSpec(scraped_at="2026-11-20T10:00:00+00:00"))
    assert detect_format(path, at) == "prometheus"
    result, con = _ingest(tmp_path, path, options=at)
    _accounted(result)
    # 197 lines: 163 samples, 22 comments (2 families have no # HELP), 12 blank lines (one after each family).
    assert (result.read, result.clean, result.skipped) == (197, 163, 34)
    assert result.by_skip == {"blank": 12, "comment": 22}
    assert _labels(con, "tgi_queue_size") == [({}, 7.0)]
    assert _labels(con, "tgi_batch_current_size") == [({}, 32.0)]
    assert _labels(con, "tgi_request_success") == [({}, 1000.0)]  # a counter: TGI writes no `_total`
    assert _labels(con, "tgi_request_failure") == [({"err": "validation"}, 4.0)]
    # 35 geometric duration buckets (0.0001 x 1.5^k) + Inf, per series; the method label comes before `le`.
    assert _labels(con, "tgi_batch_forward_duration_bucket", method="decode", le="0.029192926025390625") == [
        ({"le": "0.029192926025390625", "method": "decode"}, 40112.0)
    ]
    assert _labels(con, "tgi_batch_forward_duration_bucket", method="prefill", le="+Inf") == [
        ({"le": "+Inf", "method": "prefill"}, 820.0)
    ]
    assert con.execute("SELECT count(*) FROM gauges WHERE metric = 'tgi_request_duration_bucket'").fetchone() == (36,)
    assert _labels(con, "tgi_request_duration_sum") == [({}, 3412.78)]
