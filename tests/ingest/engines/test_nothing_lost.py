"""Nothing is lost: every line of a hostile file ends as exactly one clean or quarantined row."""

from __future__ import annotations

import datetime as dt
import json
import resource

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
from monitor_pipeline.ingest.request import build_request
from monitor_pipeline.warehouse.schema import REASONS

NOW = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)


def _good(i: int, minute: int | None = None) -> dict:
    m = i if minute is None else minute
    return {
        "timestamp": f"2026-11-20T{m // 60 % 24:02d}:{m % 60:02d}:00Z",
        "request_id": f"r{i}",
        "model": "m",
        "latency_ms": 10.5 + i,
        "input_tokens": 3,
        "output_tokens": 4,
        "status": "ok",
    }


# (line bytes, expected outcome): None = clean, else (reason, field)
CASES: list[tuple[bytes, tuple[str, str | None] | None]] = [
    (json.dumps(_good(1)).encode(), None),
    (json.dumps(_good(2)).encode(), None),
    (b'{"timestamp": "2026-11-20T00:03:00Z", "request_id": ', ("malformed", None)),
    (b"\x00\xff\xfe\xfd binary garbage \x80\x81", ("malformed", None)),
    (b'{"timestamp": "2026-11-20T00:04:00Z", "prompt": "' + b"a" * 10_000_000 + b'"}', ("line_too_long", None)),
    (json.dumps({**_good(5), "input_tokens": "lots"}).encode(), ("bad_type", "input_tokens")),
    (json.dumps({**_good(6), "output_tokens": 2.5}).encode(), ("bad_type", "output_tokens")),
    (json.dumps({**_good(7), "latency_ms": -1}).encode(), ("out_of_range", "latency_ms")),
    (json.dumps({**_good(8), "timestamp": "2031-01-01T00:00:00Z"}).encode(), ("future_timestamp", "timestamp")),
    (json.dumps({**_good(9), "timestamp": "last tuesday"}).encode(), ("bad_timestamp", "timestamp")),
    (json.dumps({k: v for k, v in _good(10).items() if k != "timestamp"}).encode(), ("missing_field", "timestamp")),
    (json.dumps(_good(1, minute=40)).encode(), ("duplicate", "request_id")),
    (json.dumps(_good(11, minute=0)).encode(), None),  # out of order: earlier than the lines above, still clean
    (b"[1, 2, 3]", ("malformed", None)),
    (b"", "blank"),
    (json.dumps(_good(12)).encode() + b"\r", None),  # CRLF
    (json.dumps({**_good(13), "latency_ms": "NaN"}).encode(), ("bad_type", "latency_ms")),
    (json.dumps({**_good(14), "http_status": 999}).encode(), ("out_of_range", "http_status")),
    (b'{"timestamp": "2026-11-20T00:15:00Z", "request_id": "r15", "mod', ("truncated", None)),  # last, no newline
]


@pytest.fixture
def hostile(tmp_path):
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(b"\n".join(line for line, _ in CASES))
    return path


def _ingest(db, path, **kw):
    return DuckDBEngine(db).ingest(build_request([str(path)], "jsonl", now=NOW, **kw))


def test_every_line_has_its_outcome(hostile, tmp_path):
    warm = tmp_path / "warm.jsonl"  # first use loads DuckDB's readers and extensions: not what is measured here
    warm.write_text(json.dumps(_good(0)) + "\n\n{bad\n")
    _ingest(tmp_path / "warm.duckdb", warm)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = _ingest(tmp_path / "w.duckdb", hostile)
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    clean = {r[0] for r in con.execute("SELECT source_line FROM requests").fetchall()}
    bad = {r[0]: (r[1], r[2]) for r in con.execute("SELECT line_no, reason, field FROM quarantine").fetchall()}
    skipped = dict(con.execute("SELECT line_no, reason FROM skipped_lines").fetchall())
    for n, (_, expected) in enumerate(CASES, start=1):
        if expected == "blank":
            assert n not in clean and n not in bad and skipped[n] == "blank"
        elif expected is None:
            assert n in clean and n not in bad, n
        else:
            assert bad.get(n) == expected and n not in clean, (n, bad.get(n), expected)
    assert result.read == result.clean + result.quarantined + result.skipped == len(CASES)
    assert result.skipped == 1 and result.by_skip == {"blank": 1}
    # The 10 MB line is kept capped, and reading it did not hold it in memory several times over.
    raw_len, detail = con.execute(
        "SELECT length(raw), detail FROM quarantine WHERE reason = 'line_too_long'"
    ).fetchone()
    assert raw_len <= 2048 and "exceeds" in detail
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB
    details = dict(con.execute("SELECT field, detail FROM quarantine WHERE field IS NOT NULL").fetchall())
    assert all(d.startswith(f) for f, d in details.items())
    assert "already seen at" in details["request_id"]


def test_reingest_replaces(hostile, tmp_path):
    db = tmp_path / "w.duckdb"
    tables = ("requests", "quarantine", "request_windows")
    _ingest(db, hostile)
    with duckdb.connect(str(db), read_only=True) as con:
        first = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    _ingest(db, hostile)
    with duckdb.connect(str(db), read_only=True) as con:
        assert {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables} == first


def test_partitioned_runs(tmp_path):
    path = tmp_path / "two_days.jsonl"
    lines = [json.dumps({**_good(i), "timestamp": f"2026-11-{20 + i % 2}T01:00:{i % 60:02d}Z"}) for i in range(40)]
    lines.insert(5, "{oops")  # no timestamp: it belongs to the day of the line before it (i=4: 2026-11-20)
    path.write_text("\n".join(lines) + "\n")
    db = tmp_path / "w.duckdb"
    r1 = _ingest(db, path, partition=dt.date(2026, 11, 20))
    r2 = _ingest(db, path, partition=dt.date(2026, 11, 20))
    assert r1.summary() == r2.summary()
    assert (r1.read, r1.clean, r1.other_partitions, r1.quarantined) == (41, 20, 20, 1)
    r3 = _ingest(db, path, partition=dt.date(2026, 11, 21))
    assert (r3.read, r3.clean, r3.other_partitions, r3.quarantined) == (41, 20, 21, 0)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*), count(DISTINCT request_id) FROM requests").fetchone() == (40, 40)


# --- property: random mutations of valid lines never crash and never lose a line ---


def _mutations():
    return st.sampled_from(
        [
            "flip",
            "insert",
            "delete",
            "truncate",
            "drop_key",
            "swap_type",
            "bad_utf8",
            "cr",
            "duplicate",
            "nan",
            "huge",
            "negative",
            "newline_in_value",
            "none",
        ]
    )


@st.composite
def _files(draw):
    n = draw(st.integers(min_value=1, max_value=25))
    lines = []
    for i in range(n):
        rec = _good(i, minute=draw(st.integers(0, 3000)))
        raw = json.dumps(rec).encode()
        kind = draw(_mutations())
        pos = draw(st.integers(0, max(0, len(raw) - 1)))
        if kind == "flip":
            raw = raw[:pos] + bytes([raw[pos] ^ draw(st.integers(1, 255))]) + raw[pos + 1 :]
        elif kind == "insert":
            raw = raw[:pos] + draw(st.binary(min_size=1, max_size=8)) + raw[pos:]
        elif kind == "delete":
            raw = raw[:pos] + raw[pos + draw(st.integers(1, 10)) :]
        elif kind == "truncate":
            raw = raw[:pos]
        elif kind == "drop_key":
            rec.pop(draw(st.sampled_from(sorted(rec))))
            raw = json.dumps(rec).encode()
        elif kind == "swap_type":
            rec[draw(st.sampled_from(sorted(rec)))] = draw(
                st.one_of(st.text(max_size=5), st.booleans(), st.lists(st.integers(), max_size=2))
            )
            raw = json.dumps(rec).encode()
        elif kind == "bad_utf8":
            raw = raw[:pos] + b"\xc3\x28" + raw[pos:]
        elif kind == "cr":
            raw = raw + b"\r"
        elif kind == "nan":
            raw = raw.replace(b'"latency_ms": ', b'"latency_ms": NaN, "x": ')
        elif kind == "huge":
            rec["input_tokens"] = 10**30
            raw = json.dumps(rec).encode()
        elif kind == "negative":
            rec["output_tokens"] = -draw(st.integers(1, 10))
            raw = json.dumps(rec).encode()
        elif kind == "newline_in_value":
            raw = raw[:pos] + b"\n" + raw[pos:]
        lines.append(raw)
        if kind == "duplicate":
            lines.append(raw)
    return b"\n".join(lines) + draw(st.sampled_from([b"", b"\n"]))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@pytest.mark.slow
@given(data=_files())
def test_mutated_lines_are_all_accounted_for(tmp_path_factory, data):
    d = tmp_path_factory.mktemp("prop")
    path = d / "m.jsonl"
    path.write_bytes(data)
    result = _ingest(d / "w.duckdb", path, strict=False)  # a refused file is quarantined line by line, as in a run
    assert result.read == result.clean + result.quarantined + result.skipped
    con = duckdb.connect(str(d / "w.duckdb"), read_only=True)
    seen = [
        r[0]
        for r in con.execute(
            "SELECT source_line FROM requests UNION ALL SELECT line_no FROM quarantine "
            "UNION ALL SELECT line_no FROM skipped_lines"
        ).fetchall()
    ]
    physical = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)  # an empty file has no line
    assert sorted(seen) == list(range(1, physical + 1)) and result.read == physical
    assert {r[0] for r in con.execute("SELECT DISTINCT reason FROM quarantine").fetchall()} <= set(REASONS)
