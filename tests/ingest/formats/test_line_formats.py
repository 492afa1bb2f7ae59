"""Format detection and the SQL-parsed formats on sample and real public data."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest
from paths import SAMPLES, SHARED_DATA

from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
from monitor_pipeline.ingest.formats import detect_format
from monitor_pipeline.ingest.request import build_request

NOW = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)
AZURE = SHARED_DATA / "azure-llm-inference-2023"


def _ingest(tmp_path, paths, fmt="auto"):
    db = tmp_path / "w.duckdb"
    result = DuckDBEngine(db).ingest(build_request([str(p) for p in paths], fmt, now=NOW))
    return result, duckdb.connect(str(db), read_only=True)


@pytest.mark.parametrize(
    "name,fmt",
    [
        ("requests.jsonl", "jsonl"),
        ("online.log", "online_log"),
        ("offline.log", "offline_log"),
        ("nvidia_smi.csv", "nvidia_smi"),
        ("dcgm_metrics.prom", "prometheus"),
    ],
)
def test_detects_sample_formats(name, fmt):
    assert detect_format(SAMPLES / name) == fmt


def test_detects_by_content_without_telling_name(tmp_path):
    (tmp_path / "a.txt").write_text("2026-11-20 00:00:01 12 0.93\n")
    (tmp_path / "b.txt").write_text("2026-11-20 00:00:01 32 5000\n")
    (tmp_path / "c.txt").write_text('{"timestamp": 1, "gpu_util_pct": 3}\n')
    (tmp_path / "d.csv").write_text("timestamp,request_id,latency_ms\n2026-11-20T00:00:00Z,a,3\n")
    assert [detect_format(tmp_path / n) for n in ("a.txt", "b.txt", "c.txt", "d.csv")] == [
        "online_log",
        "offline_log",
        "resources_jsonl",
        "csv",
    ]


@pytest.mark.skipif(not AZURE.exists(), reason="shared data not present")
def test_real_azure_traces_parse_cleanly(tmp_path):
    files = sorted(AZURE.glob("*.csv"))
    assert [detect_format(f) for f in files] == ["azure_trace", "azure_trace"]
    result, con = _ingest(tmp_path, files)
    assert result.read == 8819 + 19366 + 2 and result.clean == 8819 + 19366 and result.quarantined == 0
    assert result.by_skip == {"header": 2}
    row = con.execute(
        "SELECT timestamp, input_tokens, output_tokens, status FROM requests "
        "WHERE source_file LIKE '%code.csv' AND source_line = 2"
    ).fetchone()
    assert row[0] == dt.datetime(2023, 11, 16, 18, 17, 3, 979960, tzinfo=dt.UTC)
    assert row[1:] == (4808, 10, "ok")
    assert result.windows_5m > 0


def test_seed_logs(tmp_path):
    result, con = _ingest(tmp_path, [SAMPLES / "online.log", SAMPLES / "offline.log"])
    assert result.quarantined == 0
    assert result.by_table["online_log"]["clean"] == 720 and result.by_table["offline_log"]["clean"] == 24
    n, acc = con.execute("SELECT sum(requests), max(accuracy) FROM request_windows WHERE window_size = '1h'").fetchone()
    assert n == con.execute("SELECT sum(request_num) FROM online_log").fetchone()[0] and 0.8 < acc <= 1


def test_seed_log_bad_lines_quarantined(tmp_path):
    p = tmp_path / "online.log"
    p.write_text(
        "2026-11-20 00:00:01 12 0.93\n2026-11-20 00:00:02 12\n2026/11/20 00:00:03,5 7 1.5\n2026-11-20 00:00:04 x 0.5\n"
    )
    result, con = _ingest(tmp_path, [p], "online_log")  # 1 good line in 4: detection would rightly refuse
    got = con.execute("SELECT line_no, reason, field FROM quarantine ORDER BY line_no").fetchall()
    assert got == [(2, "malformed", None), (3, "out_of_range", "accuracy"), (4, "bad_type", "request_num")]
    assert result.clean == 1


def test_otel_and_openai_aliases(tmp_path):
    p = tmp_path / "otel.jsonl"
    recs = [
        {
            "timestamp": "2026-11-20T00:00:00Z",
            "gen_ai.response.id": "a",
            "gen_ai.request.model": "m1",
            "gen_ai.usage.input_tokens": 11,
            "gen_ai.usage.output_tokens": 22,
            "gen_ai.operation.name": "chat",
        },
        {
            "time": 1763596800.5,
            "id": "b",
            "model": "m2",
            "usage": {"prompt_tokens": 5, "completion_tokens": 6},
            "http.response.status_code": 503,
        },
        {
            "@timestamp": "2026-11-20T01:00:00+01:00",
            "attributes": {"gen_ai.response.id": "c", "gen_ai.usage.input_tokens": 7, "gen_ai.request.model": "m3"},
            "status": "failed",
        },
    ]
    p.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    result, con = _ingest(tmp_path, [p])
    assert result.clean == 3
    rows = con.execute(
        "SELECT request_id, model, input_tokens, output_tokens, operation, status, http_status, "
        "timestamp FROM requests ORDER BY request_id"
    ).fetchall()
    assert rows[0][:6] == ("a", "m1", 11, 22, "chat", "ok")
    assert rows[1][:7] == ("b", "m2", 5, 6, None, "error", 503)
    assert rows[1][7] == dt.datetime(2025, 11, 20, 0, 0, 0, 500000, tzinfo=dt.UTC)
    assert rows[2][:6] == ("c", "m3", 7, None, None, "error")
    assert rows[2][7] == dt.datetime(2026, 11, 20, 0, 0, tzinfo=dt.UTC)


def test_csv_with_header_and_bad_rows(tmp_path):
    p = tmp_path / "gw.csv"
    p.write_text(
        "Timestamp,Request ID,model,latency_ms,prompt_tokens,prompt\n"
        '2026-11-20T00:00:00Z,a,m,12.5,3,"hello, world"\n'
        "2026-11-20T00:00:01Z,b,m,oops,3,x\n"
        "2026-11-20T00:00:02Z,c,m\n"
        '2026-11-20T00:00:03Z,d,m,1,2,"multi\nline"\n'
        "2026-11-20T00:00:04Z,e,m,1,2,last"
    )
    result, con = _ingest(tmp_path, [p])
    assert con.execute("SELECT request_id, latency_ms, input_tokens, prompt FROM requests ORDER BY 1").fetchall() == [
        ("a", 12.5, 3, "hello, world"),
        ("d", 1.0, 2, "multi\nline"),
        ("e", 1.0, 2, "last"),
    ]
    assert con.execute("SELECT line_no, reason FROM quarantine ORDER BY 1").fetchall() == [
        (3, "bad_type"),
        (4, "malformed"),
    ]
    # Physical lines: the header and the second line of the quoted field are listed as skipped, with their reason.
    assert (result.read, result.skipped, result.by_skip) == (7, 2, {"header": 1, "continuation": 1})
    assert con.execute("SELECT line_no, reason FROM skipped_lines ORDER BY 1").fetchall() == [
        (1, "header"),
        (6, "continuation"),
    ]
