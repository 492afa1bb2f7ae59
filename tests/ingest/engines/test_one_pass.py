"""The one-pass JSONL read (DuckDB's own readers) gives exactly what the chunked line reader gives."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
from monitor_pipeline.ingest.formats.files import scan
from monitor_pipeline.ingest.request import build_request

NOW = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)
QUARANTINE = "source_file, line_no, reason, field, detail, raw, partition_date"


def _good(i: int, minute: int = 0) -> dict:
    return {
        "timestamp": f"2026-11-20T{minute // 60 % 24:02d}:{minute % 60:02d}:00Z",
        "request_id": f"r{i}",
        "model": "m",
        "user_id": f"u{i % 3}",
        "latency_ms": 10.5 + i,
        "ttft_ms": 2.0,
        "input_tokens": 3,
        "output_tokens": 4,
        "status": "ok",
        "prompt": f"question {i}",
    }


def _tables(db) -> dict:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            "requests": con.execute("SELECT * EXCLUDE (ingested_at) FROM requests ORDER BY ALL").fetchall(),
            "quarantine": con.execute(f"SELECT {QUARANTINE} FROM quarantine ORDER BY ALL").fetchall(),
            "windows": con.execute("SELECT * FROM request_windows ORDER BY ALL").fetchall(),
        }


def _both(tmp_path, path, monkeypatch=None, **kw) -> tuple[dict, dict, int]:
    """Ingest `path` one-pass and chunked; (one-pass outcome, chunked outcome, files read in chunks one-pass)."""
    chunked_files = []
    real = DuckDBEngine._stages

    def spy(self, con, f, path, request):
        chunked_files.append(f.path)
        yield from real(self, con, f, path, request)

    out = []
    for one_pass in (True, False):
        db = tmp_path / f"w_{one_pass}.duckdb"
        db.unlink(missing_ok=True)
        if one_pass and monkeypatch is not None:
            monkeypatch.setattr(DuckDBEngine, "_stages", spy)
        engine = DuckDBEngine(db) if one_pass else DuckDBEngine(db, one_pass=False)  # one pass is the default
        result = engine.ingest(build_request([str(path)], "jsonl", now=NOW, strict=False, **kw))
        if monkeypatch is not None:
            monkeypatch.setattr(DuckDBEngine, "_stages", real)
        out.append({"summary": result.summary(), **_tables(db)})
    return out[0], out[1], len(chunked_files)


def _lines() -> list[bytes]:
    lines = [json.dumps(_good(i, minute=i)).encode() for i in range(40)]
    lines[3] = b'{"timestamp": "2026-11-20T00:03:00Z", "request_id": '  # malformed
    lines[5] = json.dumps({**_good(5), "input_tokens": "lots"}).encode()
    lines[7] = json.dumps({**_good(7), "latency_ms": -1}).encode()
    lines[9] = json.dumps({**_good(9), "timestamp": "last tuesday"}).encode()
    lines[11] = json.dumps(_good(2, minute=30)).encode()  # a second r2
    lines[13] = b"[1, 2, 3]"
    lines[15] = json.dumps({k: v for k, v in _good(15).items() if k != "timestamp"}).encode()
    lines[17] = json.dumps(
        {
            "@timestamp": "2026-11-20T01:00:00Z",
            "id": "otel-1",
            "attributes": {"gen_ai.request.model": "otel-model", "gen_ai.usage.input_tokens": 7},
            "usage": {"completion_tokens": 9},
            "gen_ai.usage.input_tokens": 8,
            "metadata": {"user_api_key_hash": "k1"},
        }
    ).encode()
    lines[19] = json.dumps({**_good(19), "prompt": "mail me at jane.doe@example.com or call +1 415 555 0100"}).encode()
    lines[21] = json.dumps({**_good(21), "latency_ms": "NaN", "http_status": 999}).encode()
    lines[23] = '{"timestamp": "2026-11-20T00:23:00Z", "request_id": "r23", "prompt": "caf\u00e9 \ufffd"}'.encode()
    lines[25] = json.dumps({**_good(25), "timestamp": 1763600000.5}).encode()  # epoch seconds
    lines[27] = b'{"timestamp": "2026-11-20T00:27:00Z", "request_id": "r27"} trailing'
    lines[29] = b"{}"
    lines[31] = json.dumps({**_good(31), "model": {"nested": [1, 2]}, "output_tokens": 2.5}).encode()
    lines[33] = b'{"timestamp": "2026-11-20T00:33:00Z", "request_id": "r33", "request_id": "r33b", "status": "TIMEOUT"}'
    return lines


def test_jsonl_takes_one_pass_and_agrees(tmp_path, monkeypatch):
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"\n".join(_lines()) + b"\n")
    fast, chunked, chunked_files = _both(tmp_path, path, monkeypatch)
    assert chunked_files == 0  # the file really went through DuckDB's readers
    assert fast == chunked
    reasons = fast["summary"]["by_reason"]
    assert reasons["duplicate"] == 1 and reasons["malformed"] == 3 and fast["summary"]["redacted"] >= 1
    # A U+FFFD written in the log is text like any other character, not a decoding error.
    assert [r for r in fast["requests"] if r[1] == "r23"][0][13] == "caf\u00e9 \ufffd"
    assert fast["summary"]["read"] == 40 and len(fast["requests"]) + len(fast["quarantine"]) == 40


def test_truncated_last_line_one_pass(tmp_path, monkeypatch):
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"\n".join(_lines()[:10]) + b'\n{"timestamp": "2026-11-20T00:15:00Z", "mod')
    fast, chunked, chunked_files = _both(tmp_path, path, monkeypatch)
    assert chunked_files == 0 and fast == chunked and fast["summary"]["by_reason"]["truncated"] == 1


@pytest.mark.parametrize(
    "odd",
    [
        b"",  # blank line: DuckDB's JSON reader skips it, so the readers would not pair up
        b"  \t ",
        b"\x0c",
        b'{"timestamp": "2026-11-20T00:00:00Z"}\r',  # CRLF
        b'{"timestamp": "2026-11-20T00:00:00Z", "x": "a\rb"}',  # a lone CR ends a CSV row
        b'{"timestamp": "2026-11-20T00:00:00Z", "x": "\xff\xfe"}',  # invalid UTF-8
        b'{"timestamp": "2026-11-20T00:00:00Z", "x": "' + b"y" * 5000 + b'"}',  # over max_line_bytes
        b'{"timestamp": "2026-11-20T00:00:00Z", "x": "\x1c\x1d\x1e\x1f"}',  # the CSV reader's delimiter
        b'{"timestamp": "2026-11-20T00:00:00Z", "request_id": "r\\u0041"}',  # an escaped key value
    ],
)
def test_odd_lines_fall_back_to_chunks_with_the_same_result(tmp_path, monkeypatch, odd):
    lines = _lines()
    lines.insert(20, odd)
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    fast, chunked, chunked_files = _both(tmp_path, path, monkeypatch, max_line_bytes=2000)
    assert fast == chunked
    # Each of these makes the one-pass read give the file back to the line reader, except an escaped value: the bulk
    # read (rows numbered by position, reconciled with the file's line count) needs no pairing of lines and objects.
    assert chunked_files == (0 if b"\\u0041" in odd else 1)


def test_scan_counts_physical_lines(tmp_path):
    """(lines, ends with a newline, holds a CR, starts with a BOM): what decides the one-pass read."""
    p = tmp_path / "x"
    for data, expected in (
        (b"a\nb\n", (2, True, False, False)),
        (b"a\nb", (2, False, False, False)),
        (b"", (0, True, False, False)),
        (b"a\r\nb\n", (2, True, True, False)),
        (b"\xef\xbb\xbfa\n", (1, True, False, True)),
        (b"\xef\xbb\xbf", (0, True, False, True)),
        (b"\n\n", (2, True, False, False)),
    ):
        p.write_bytes(data)
        f = scan(str(p))
        assert (f.lines, f.ends_with_newline, f.has_cr, f.has_bom) == expected, data


def _line():
    key = st.sampled_from(
        [
            "timestamp",
            "request_id",
            "model",
            "latency_ms",
            "input_tokens",
            "status",
            "prompt",
            "http_status",
            "@timestamp",
            "gen_ai.usage.input_tokens",
        ]
    )
    value = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-10, 10**20),
        st.floats(allow_nan=False),
        st.text(max_size=12),
        st.just("2026-11-20T05:06:07Z"),
        st.lists(st.integers(), max_size=2),
    )
    obj = st.dictionaries(key, value, max_size=6).map(lambda d: json.dumps(d).encode())
    junk = st.binary(max_size=20).filter(lambda b: b"\n" not in b)
    return st.one_of(obj, obj, obj, junk)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@pytest.mark.slow
@given(lines=st.lists(_line(), min_size=1, max_size=15), end=st.sampled_from([b"", b"\n"]))
def test_random_files_agree(tmp_path_factory, lines, end):
    d = tmp_path_factory.mktemp("eq")
    path = d / "r.jsonl"
    path.write_bytes(b"\n".join(lines) + end)
    fast, chunked, _ = _both(d, path)
    assert fast == chunked


def test_resources_jsonl_with_keys_differing_in_case_is_read(tmp_path):
    """`hostname` and `Hostname` are both resource keys: that table keeps the chunked path and still ingests."""
    path = tmp_path / "res.jsonl"
    rows = [
        {
            "timestamp": f"2026-11-20T00:{i:02d}:00Z",
            "Hostname": "node-1",
            "device": "gpu0",
            "gpu_util_pct": 50.0 + i,
            "gpu_mem_used_mb": 1000.0,
            "gpu_mem_total_mb": 8000.0,
        }
        for i in range(10)
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = DuckDBEngine(tmp_path / "w.duckdb").ingest(build_request([str(path)], "resources_jsonl", now=NOW))
    assert (result.read, result.clean, result.quarantined) == (10, 10, 0)
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT DISTINCT host FROM resources").fetchall() == [("node-1",)]


def test_numbers_the_readers_spell_differently_are_stored_alike(tmp_path, monkeypatch):
    """1e+20 / 1e-06 (DuckDB's JSON reader) vs 100000000000000000000.0 / 0.000001 (json_extract_string): one result."""
    rows = [{**_good(i, minute=i), "model": v, "input_tokens": v} for i, v in enumerate([1e20, 1e-6, 1e16, 2.5, 7])]
    path = tmp_path / "n.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    fast, chunked, chunked_files = _both(tmp_path, path, monkeypatch)
    assert fast == chunked and chunked_files == 0
