"""File-level fuzzing: valid files of every format, damaged the ways real files are, never crash and lose nothing.

Damage: a byte-order mark, CRLF endings, gzip (whole or cut short), a cut mid-line, stray quotes, invalid UTF-8, NUL
bytes, a huge line. Whatever the damage, `read` is the file's physical line count (after gzip) and every line is
one clean, quarantined or listed skipped row.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import zlib

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
from monitor_pipeline.ingest.formats.options import ReadOptions, TimeSpec
from monitor_pipeline.ingest.request import build_request

NOW = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)
OPTIONS = ReadOptions(time=TimeSpec(scraped_at="2026-11-20T10:00:00+00:00"))


def _jsonl(i: int) -> bytes:
    return json.dumps(
        {
            "timestamp": f"2026-11-20T01:{i % 60:02d}:00Z",
            "request_id": f"r{i}",
            "model": "m",
            "latency_ms": 10.5 + i,
            "input_tokens": i,
            "prompt": f'say "{i}", please',
        }
    ).encode()


def _csv(i: int) -> bytes:
    return f'2026-11-20T01:{i % 60:02d}:00Z,r{i},m,{10.5 + i},"hello, {i}"'.encode()


def _smi(i: int) -> bytes:
    return f"2026/11/20 01:{i % 60:02d}:00.000, NVIDIA A100, {i % 2}, {i % 100} %, {1000 + i} MiB, 81920 MiB".encode()


def _prom(i: int) -> bytes:
    return f'DCGM_FI_DEV_GPU_UTIL{{gpu="{i % 4}",Hostname="n{i % 2}"}} {i % 100}'.encode()


def _seed(i: int) -> bytes:
    return f"2026-11-20 01:{i % 60:02d}:00 {i} 0.{i % 10}".encode()


FORMATS = {
    "jsonl": (None, _jsonl),
    "csv": (b"timestamp,request_id,model,latency_ms,prompt", _csv),
    "nvidia_smi": (b"timestamp, name, index, utilization.gpu [%], memory.used [MiB], memory.total [MiB]", _smi),
    "prometheus": (b"# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).\n# TYPE DCGM_FI_DEV_GPU_UTIL gauge", _prom),
    "online_log": (None, _seed),
}
DAMAGE = ["bom", "crlf", "cut_mid_line", "stray_quote", "bad_utf8", "nul", "huge_line", "blank_lines", "ufffd", "none"]


@st.composite
def damaged_files(draw):
    fmt = draw(st.sampled_from(sorted(FORMATS)))
    header, line = FORMATS[fmt]
    n = draw(st.integers(1, 30))
    lines = [line(i) for i in range(n)]
    for kind in draw(st.lists(st.sampled_from(DAMAGE), min_size=1, max_size=3)):
        at = draw(st.integers(0, len(lines) - 1))
        if kind == "stray_quote":
            lines[at] = lines[at][: len(lines[at]) // 2] + b'"' + lines[at][len(lines[at]) // 2 :]
        elif kind == "bad_utf8":
            lines[at] = lines[at] + b"\xc3\x28\xff"
        elif kind == "nul":
            lines[at] = b"\x00" + lines[at]
        elif kind == "huge_line":
            lines[at] = lines[at] + b"x" * 2_100_000
        elif kind == "blank_lines":
            lines.insert(at, b"   ")
            lines.insert(at, b"")
        elif kind == "ufffd":
            lines[at] = lines[at].replace(b"m", "\ufffd".encode(), 1)
    data = b"\n".join(([header] if header else []) + lines)
    end = draw(st.sampled_from([b"\n", b""]))
    data += end
    if draw(st.booleans()):
        data = data.replace(b"\n", b"\r\n")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    if draw(st.booleans()) and len(data) > 10:
        data = data[: draw(st.integers(len(data) // 2, len(data) - 1))]  # cut mid-line
    zipped = draw(st.sampled_from(["no", "gzip", "gzip_cut"]))
    return fmt, data, zipped


def _physical_lines(data: bytes) -> int:
    data = data.removeprefix(b"\xef\xbb\xbf")
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
@pytest.mark.slow
@given(case=damaged_files(), named=st.booleans())
def test_damaged_files_lose_nothing(tmp_path_factory, case, named):
    fmt, data, zipped = case
    d = tmp_path_factory.mktemp("fuzz")
    path = d / f"log.{fmt}"
    if zipped == "no":
        path.write_bytes(data)
        expected = _physical_lines(data)
    else:
        packed = gzip.compress(data)
        if zipped == "gzip_cut":
            packed = packed[: max(20, len(packed) * 2 // 3)]
        path = d / f"log.{fmt}.gz"
        path.write_bytes(packed)
        # What the stream holds before it ends (all of it, or what a cut stream yields): the lines to account for.
        expected = _physical_lines(zlib.decompressobj(wbits=31).decompress(packed))
    db = d / "w.duckdb"
    request = build_request(
        [str(path)], fmt if named else "auto", now=NOW, options=OPTIONS, strict=False, max_line_bytes=1_000_000
    )
    result = DuckDBEngine(db).ingest(request)
    s = result.summary()  # raises if read != clean + quarantined + skipped + other days
    assert result.read == expected
    with duckdb.connect(str(db), read_only=True) as con:
        stored = con.execute(
            "SELECT count(*) FROM (SELECT source_line AS n FROM requests UNION ALL SELECT source_line FROM resources "
            "UNION ALL SELECT source_line FROM gauges UNION ALL SELECT source_line FROM online_log "
            "UNION ALL SELECT line_no FROM quarantine UNION ALL SELECT line_no FROM skipped_lines)"
        ).fetchone()[0]
    assert stored == s["read"]
