"""Two engines, one result: the same input through DuckDB and Spark gives the same rows, quarantine and windows."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import math
import shutil

import duckdb
import pytest
from paths import ROOT, SAMPLES, SHARED_DATA

from monitor_pipeline.errors import EngineError
from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
from monitor_pipeline.ingest.engines.spark import SparkEngine
from monitor_pipeline.ingest.request import build_request
from monitor_pipeline.resources.spark import get_spark_session
from monitor_pipeline.settings import SparkConfig
from monitor_pipeline.warehouse.schema import REQUESTS

pytestmark = pytest.mark.slow
REAL = ROOT / "tests" / "data" / "real"
NOW = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)


def _bad_jsonl(path):
    good = [
        {
            "timestamp": f"2026-11-{20 + i % 2}T{i % 24:02d}:{i % 60:02d}:00Z",
            "request_id": f"r{i}",
            "model": ["a", "b"][i % 2],
            "user_id": f"u{i % 7}",
            "latency_ms": 100 + i * 3.5,
            "ttft_ms": 10 + i,
            "input_tokens": i,
            "output_tokens": 2 * i,
            "status": ["ok", "error"][i % 5 == 0],
            "prediction": "x",
            "label": ["x", "y"][i % 3 == 0],
        }
        for i in range(300)
    ]
    lines = [json.dumps(g).encode() for g in good]
    lines[10:10] = [
        b'{"timestamp": "2026-11-20T00:00:00Z", "request_id": "r3"}',  # duplicate
        b"{broken",
        b"\xff\xfe\xfa binary",
        b'{"timestamp": "2026-11-20T00:00:00Z", "x": "' + b"y" * 3000 + b'"}',
        b'{"timestamp": "2026-11-20T00:00:00Z", "input_tokens": "many"}',
        b'{"timestamp": "2026-11-20T00:00:00Z", "latency_ms": -4}',
        b'{"timestamp": "2099-01-01T00:00:00Z"}',
        b'{"timestamp": "soon"}',
        b'{"model": "a"}',
        b"",
        b"   ",
        b'{"timestamp": "2026-11-21T05:00:00Z", "request_id": "crlf"}\r',
        b"[1, 2]",
    ]
    path.write_bytes(b"\n".join(lines) + b'\n{"timestamp": "2026-11-21T0')


def _plain_jsonl(path):
    """No CR, blank or over-long line: DuckDB reads this file in one pass with its own readers."""
    lines = [
        json.dumps(
            {
                "timestamp": f"2026-11-21T{i % 24:02d}:{i % 50:02d}:00Z",
                "request_id": f"p{i}",
                "model": "c",
                "user_id": f"u{i % 5}",
                "latency_ms": 50 + i,
                "ttft_ms": 5 + i % 7,
                "input_tokens": i,
                "output_tokens": i + 1,
                "status": "ok",
            }
        )
        for i in range(120)
    ]
    lines[7] = '{"timestamp": "2026-11-21T07:07:00Z", "request_id": "p7", "latency'
    lines[9] = json.dumps(
        {
            "@timestamp": "2026-11-21T09:09:00Z",
            "id": "p9",
            "attributes": {"gen_ai.request.model": "otel", "gen_ai.usage.input_tokens": 4},
            "usage": {"completion_tokens": 6},
        }
    )
    lines[11] = json.dumps({"timestamp": "2026-11-21T11:11:00Z", "request_id": "p11", "input_tokens": "x"})
    lines[13] = json.dumps({"timestamp": "yesterday", "request_id": "p13"})
    lines[15] = "[1]"
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("parity")
    _bad_jsonl(d / "requests.jsonl")
    _plain_jsonl(d / "plain.jsonl")
    for name in ("online.log", "offline.log", "nvidia_smi.csv", "dcgm_metrics.prom"):
        shutil.copy(SAMPLES / name, d / name)
    # Serving-engine signals: a real vLLM V1 server log (table engine_log) and vLLM scrapes with a counter reset
    # and a histogram (gauges): both engines must give the same engine_windows.
    shutil.copy2(REAL / "vllm_server_v1.log", d / "vllm_server_v1.log")
    scrape = []
    for k, prompt in enumerate([100, 160, 40, 100]):
        ms = 1763694000000 + 60000 * k  # 2026-11-21T03:00:00Z + k minutes
        a = 'model_name="m",instance="v:8000"'
        scrape += [
            f"vllm:num_requests_waiting{{{a}}} {k} {ms}",
            f"vllm:prompt_tokens_total{{{a}}} {prompt} {ms}",
            f'vllm:time_to_first_token_seconds_bucket{{{a},le="0.1"}} {2 * k} {ms}',
            f'vllm:time_to_first_token_seconds_bucket{{{a},le="+Inf"}} {3 * k} {ms}',
        ]
    (d / "vllm_scrape.prom").write_text("\n".join(scrape) + "\n")
    # A rotated, gzipped log with a byte-order mark, a U+FFFD written as text and a line of invalid bytes.
    rows = [
        json.dumps(
            {
                "timestamp": f"2026-11-21T03:{i:02d}:00Z",
                "request_id": f"z{i}",
                "model": "z",
                "prompt": "caf\u00e9 \ufffd" if i == 2 else "ok",
            }
        ).encode()
        for i in range(20)
    ]
    rows[5] = b'{"timestamp": "2026-11-21T03:05:00Z", "prompt": "caf\xe9 \xff"}'
    (d / "rotated.jsonl.gz").write_bytes(gzip.compress(b"\xef\xbb\xbf" + b"\n".join(rows) + b"\n"))
    azure = SHARED_DATA / "azure-llm-inference-2023" / "AzureLLMInferenceTrace_code.csv"
    if azure.exists():
        (d / "azure.csv").write_text("".join(azure.open().readlines()[:200]))
    return sorted(str(p) for p in d.iterdir())


def _norm(v):
    if isinstance(v, dt.datetime):
        return (v if v.tzinfo else v.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def _rows(rows):
    return sorted((tuple(_norm(v) for v in r) for r in rows), key=repr)


def _close(a, b):
    for x, y in zip(a, b, strict=True):
        if isinstance(x, float) and isinstance(y, float):
            assert math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9), (a, b)
        else:
            assert x == y, (a, b)


def test_parity(spark, inputs, tmp_path):
    request = build_request(inputs, now=NOW, max_line_bytes=2000)
    a = DuckDBEngine(tmp_path / "w.duckdb").ingest(request)
    engine = SparkEngine(spark, str(tmp_path / "spark"))
    b = engine.ingest(request)
    assert a.summary() == b.summary()
    assert a.by_reason["duplicate"] == 1 and a.by_reason["line_too_long"] == 1 and a.by_reason["truncated"] == 1
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    cols = REQUESTS.names() + ["source_file", "source_line", "partition_date"]
    duck = _rows(con.execute(f"SELECT {', '.join(cols)} FROM requests").fetchall())
    sp = _rows(engine.read_table("requests").select(*cols).collect())
    assert duck == sp and len(duck) == a.by_table["requests"]["clean"]
    q = "source_file, line_no, reason, field, detail, raw, partition_date"
    # A duplicate's raw is its typed row as JSON, which each engine spells its own way (timestamps): not compared.
    assert _rows(con.execute(f"SELECT {q} FROM quarantine WHERE reason <> 'duplicate'").fetchall()) == _rows(
        engine.read_table("quarantine").filter("reason <> 'duplicate'").select(*q.split(", ")).collect()
    )
    k = "source_file, line_no, reason, raw, partition_date"
    skipped = _rows(con.execute(f"SELECT {k} FROM skipped_lines").fetchall())
    assert skipped == _rows(engine.read_table("skipped_lines").select(*k.split(", ")).collect())
    assert len(skipped) == a.skipped > 0
    assert con.execute("SELECT raw FROM quarantine WHERE source_file LIKE '%rotated%'").fetchall() == [
        ('{"timestamp": "2026-11-21T03:05:00Z", "prompt": "caf\\xe9 \\xff"}',)
    ]
    wcols = [
        "window_size",
        "window_start",
        "model",
        "requests",
        "error_rate",
        "latency_p50_ms",
        "latency_p95_ms",
        "latency_p99_ms",
        "ttft_p95_ms",
        "input_tokens",
        "output_tokens",
        "output_tokens_per_s",
        "accuracy",
        "unique_users",
    ]
    dw = _rows(con.execute(f"SELECT {', '.join(wcols)} FROM request_windows").fetchall())
    sw = _rows(engine.read_table("request_windows").select(*wcols).collect())
    assert len(dw) == len(sw) > 0
    for x, y in zip(dw, sw, strict=True):
        _close(x, y)
    rw = ["window_size", "window_start", "host", "device", "samples", "gpu_util_pct_mean", "gpu_mem_used_mb_max"]
    dr = _rows(con.execute(f"SELECT {', '.join(rw)} FROM resource_windows").fetchall())
    sr = _rows(engine.read_table("resource_windows").select(*rw).collect())
    assert len(dr) == len(sr) > 0
    for x, y in zip(dr, sr, strict=True):
        _close(x, y)
    ew = ["window_size", "window_start", "serving_engine", "instance", "model", "samples", "waiting_max"]
    ew += ["kv_cache_usage_max", "prompt_tokens_per_s", "prefix_cache_hit_rate", "ttft_p50_s", "partition_date"]
    de = _rows(con.execute(f"SELECT {', '.join(ew)} FROM engine_windows").fetchall())
    se = _rows(engine.read_table("engine_windows").select(*ew).collect())
    assert len(de) == len(se) > 2 and a.by_table["engine_log"]["clean"] == 29
    for x, y in zip(de, se, strict=True):
        _close(x, y)
    # The scrape's counter restarted (160 -> 40): 60 + 40 + 60 tokens over 180 s.
    assert ("5m", 160 / 180) in {(r[0], r[8]) for r in de if r[3] == "v:8000"}


# The day's re-run leaves out the inputs that only add cases to a table another file fills, and have no row of
# 2026-11-20 (theirs are of 2026-11-21, 2025 and 2023): two Spark ingests of them cost a quarter of a minute and prove
# nothing more here (test_parity covers them). Every table keeps a file: each slice of the day is written twice, and
# engine_log's one file, with no row of the day either, keeps the case of a table the day leaves empty.
OTHER_DAYS_ONLY = ("plain.jsonl", "rotated.jsonl.gz", "azure.csv", "vllm_scrape.prom")


def test_partition_rerun_replaces(spark, inputs, tmp_path):
    engine = SparkEngine(spark, str(tmp_path / "spark"))
    files = [p for p in inputs if p.rsplit("/", 1)[-1] not in OTHER_DAYS_ONLY]
    request = build_request(files, now=NOW, partition=dt.date(2026, 11, 20), max_line_bytes=2000)
    first = engine.ingest(request).summary()
    n1 = engine.read_table("requests").count()
    second = engine.ingest(request).summary()
    assert first == second and first["other_partitions"] > 0
    assert engine.read_table("requests").count() == n1
    assert engine.read_table("requests").groupBy("request_id").count().filter("count > 1").count() == 0


def test_unreachable_master_is_one_line():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(EngineError) as exc:
        get_spark_session(SparkConfig(master=f"spark://127.0.0.1:{port}", connect_timeout_s=2))
    assert f"spark://127.0.0.1:{port} unreachable after 2 s" in str(exc.value) and "\n" not in str(exc.value)
