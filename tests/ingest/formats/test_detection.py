"""Detection refuses instead of guessing; gzip, byte-order marks and broken CSV records lose nothing."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import random

import duckdb
import pytest
from paths import SAMPLES

from monitor_pipeline.errors import InputError
from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
from monitor_pipeline.ingest.formats import detect_format
from monitor_pipeline.ingest.request import build_request

NOW = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)


def _req(i: int, day: str = "2026-11-20") -> dict:
    return {
        "timestamp": f"{day}T00:{i % 60:02d}:00Z",
        "request_id": f"r{i}",
        "model": "m",
        "latency_ms": 5.0 + i,
        "input_tokens": 3,
        "output_tokens": 4,
    }


def _ingest(tmp_path, paths, fmt="auto", **kw):
    db = tmp_path / "w.duckdb"
    result = DuckDBEngine(db).ingest(build_request([str(p) for p in paths], fmt, now=NOW, **kw))
    return result, duckdb.connect(str(db), read_only=True)


def test_random_bytes_are_refused(tmp_path):
    path = tmp_path / "blob.log"
    path.write_bytes(random.Random(0).randbytes(5000))
    for fmt in ("auto", "csv", "jsonl"):
        with pytest.raises(InputError, match="binary data"):
            build_request([str(path)], fmt, now=NOW)


def test_text_with_commas_is_not_csv(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("Dear team, the deploy went fine.\nThanks, see you, Bob\n")
    with pytest.raises(InputError, match="cannot tell the format.*--format"):
        build_request([str(path)], "auto", now=NOW)


def test_nvidia_smi_csv_named_as_request_csv_is_refused(tmp_path):
    """It became 27 fake requests with 6 of 7 columns dropped; now: refused, naming the columns and the right format."""
    with pytest.raises(InputError, match=r"maps only `timestamp`.*utilization\.gpu.*looks like nvidia_smi"):
        build_request([str(SAMPLES / "nvidia_smi.csv")], "csv", now=NOW)


def test_a_json_document_is_not_json_lines(tmp_path):
    array = tmp_path / "export.json"
    array.write_text(json.dumps([_req(1), _req(2)], indent=2))
    pretty = tmp_path / "one.json"
    pretty.write_text(json.dumps(_req(1), indent=2))
    for path in (array, pretty):
        for fmt in ("auto", "jsonl"):
            with pytest.raises(InputError, match="single JSON document.*jq -c"):
                build_request([str(path)], fmt, now=NOW)


def test_bom_and_crlf_jsonl_is_detected_and_read(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(json.dumps(_req(i)).encode() for i in range(5)) + b"\r\n")
    assert detect_format(path) == "jsonl"
    result, con = _ingest(tmp_path, [path])
    assert (result.read, result.clean, result.quarantined) == (5, 5, 0)
    assert con.execute("SELECT min(request_id) FROM requests").fetchone() == ("r0",)


def test_gzip_is_read_transparently_into_its_own_day(tmp_path):
    """A rotated `.jsonl.gz` was quarantined as garbage into today's partition; its lines belong to their day."""
    path = tmp_path / "requests-2026-11-20.jsonl.gz"
    path.write_bytes(gzip.compress(b"\n".join(json.dumps(_req(i)).encode() for i in range(30)) + b"\n"))
    assert detect_format(path) == "jsonl"
    result, con = _ingest(tmp_path, [path], partition=dt.date(2026, 11, 20))
    assert (result.read, result.clean, result.quarantined) == (30, 30, 0)
    assert con.execute("SELECT DISTINCT partition_date, source_file FROM requests").fetchall() == [
        (dt.date(2026, 11, 20), str(path))
    ]


def test_gzip_cut_short_keeps_what_it_holds(tmp_path):
    data = gzip.compress(b"\n".join(json.dumps(_req(i)).encode() for i in range(2000)) + b"\n")
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    result, _ = _ingest(tmp_path, [path])
    assert 0 < result.clean < 2000 and result.quarantined <= 1  # at most the line the cut went through
    assert any("cut short" in w for w in result.warnings)


def test_unterminated_quote_quarantines_one_line_and_reading_resumes(tmp_path):
    """One stray quote made the reader swallow 2,754 of 10,002 rows as one field, and call them 'skipped'."""
    rows = ["timestamp,request_id,model,latency_ms,prompt"]
    rows += [
        f'2026-11-20T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z,r{i},m,{i % 97},"hi, {i}"'
        for i in range(10_002)
    ]
    rows[7249] = rows[7249].replace('"hi, ', '"hi there, ').removesuffix('"')  # the quote never closes
    path = tmp_path / "gw.csv"
    path.write_text("\n".join(rows) + "\n")
    result, con = _ingest(tmp_path, [path])
    assert (result.read, result.clean, result.quarantined, result.skipped) == (10_003, 10_001, 1, 1)
    assert con.execute("SELECT line_no, reason, detail FROM quarantine").fetchall() == [
        (7250, "malformed", "a quoted field opened on this line is never closed (unterminated quote)")
    ]


def test_quoted_field_with_newlines_is_one_record(tmp_path):
    path = tmp_path / "multi.csv"
    path.write_text(
        'timestamp,request_id,prompt\n2026-11-20T00:00:00Z,a,"line one\nline two\nline three"\n'
        "2026-11-20T00:00:01Z,b,plain\n"
    )
    result, con = _ingest(tmp_path, [path])
    assert (result.read, result.clean, result.by_skip) == (5, 2, {"header": 1, "continuation": 2})
    assert con.execute("SELECT prompt FROM requests WHERE request_id = 'a'").fetchone() == (
        "line one\nline two\nline three",
    )


def test_invalid_bytes_are_kept_escaped_in_quarantine(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(json.dumps(_req(1)).encode() + b"\n" + b'{"timestamp": "caf\xe9 \xff"}\n')
    _, con = _ingest(tmp_path, [path])
    assert con.execute("SELECT line_no, reason, raw FROM quarantine").fetchall() == [
        (2, "malformed", '{"timestamp": "caf\\xe9 \\xff"}')
    ]


def test_header_lines_are_listed_with_their_reason(tmp_path):
    _, con = _ingest(tmp_path, [SAMPLES / "nvidia_smi.csv"])
    assert con.execute("SELECT line_no, reason, left(raw, 16) FROM skipped_lines").fetchall() == [
        (1, "header", "timestamp, name,")
    ]


def test_unmapped_columns_are_named_and_can_be_kept(tmp_path):
    path = tmp_path / "gw.csv"
    path.write_text("timestamp,request_id,model,tenant,region\n2026-11-20T00:00:00Z,a,m,acme,eu-west\n")
    result, con = _ingest(tmp_path, [path])
    assert any("columns no field reads" in w and "tenant, region" in w for w in result.warnings)
    assert con.execute("SELECT extra FROM requests").fetchone() == (None,)
    from monitor_pipeline.ingest.formats.options import ReadOptions

    keep = tmp_path / "keep"
    keep.mkdir()
    result, con = _ingest(keep, [path], options=ReadOptions(unmapped="keep"))
    assert json.loads(con.execute("SELECT extra FROM requests").fetchone()[0]) == {
        "tenant": "acme",
        "region": "eu-west",
    }
    assert not result.warnings


def test_unmapped_json_keys_kept_in_extra(tmp_path):
    from monitor_pipeline.ingest.formats.options import ReadOptions

    path = tmp_path / "gw.jsonl"
    path.write_text("\n".join(json.dumps({**_req(i), "tenant": f"t{i}", "cost": 0.5 * i}) for i in range(3)) + "\n")
    result, con = _ingest(tmp_path, [path], options=ReadOptions(unmapped="keep"))
    assert result.clean == 3
    assert [json.loads(r[0]) for r in con.execute("SELECT extra FROM requests ORDER BY request_id").fetchall()] == [
        {"tenant": "t0", "cost": "0.0"},
        {"tenant": "t1", "cost": "0.5"},
        {"tenant": "t2", "cost": "1.0"},
    ]


def test_mtime_is_never_a_timestamp_unless_asked(tmp_path):
    path = tmp_path / "scrape.prom"
    path.write_text('# TYPE up gauge\nup{job="vllm"} 1\n')
    os.utime(path, (1_700_000_000, 1_700_000_000))
    with pytest.raises(InputError, match="no timestamps"):
        build_request([str(path)], "auto", now=NOW)
    from monitor_pipeline.ingest.formats.options import ReadOptions, TimeSpec

    result, con = _ingest(tmp_path, [path], options=ReadOptions(time=TimeSpec(scraped_at="mtime")))
    assert con.execute("SELECT timestamp FROM gauges").fetchone() == (
        dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC),
    )
    assert any("modification time" in w for w in result.warnings)
