"""Incremental ingestion: after any appends, rotations and truncations the tables equal one ingest of the files."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import shutil
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
from monitor_pipeline.ingest.follow import ingest_incremental, load_cursors
from monitor_pipeline.ingest.request import build_request

NOW = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
T0 = dt.datetime(2026, 11, 18, 23, 40, tzinfo=dt.UTC)  # the lines cross midnight: two days


def line(i: int, rid: str | None = None) -> str:
    """One request line, i seconds*7 after T0 (a few minutes apart: several 5-minute windows)."""
    t = (T0 + dt.timedelta(seconds=7 * i)).isoformat().replace("+00:00", "Z")
    rec = {
        "timestamp": t,
        "request_id": rid or f"r{i}",
        "model": "m1" if i % 3 else "m2",
        "user_id": f"u{i % 5}",
        "latency_ms": 100 + i % 17,
        "input_tokens": 10 + i,
        "output_tokens": 5,
        "status": "error" if i % 11 == 0 else "ok",
    }
    return json.dumps(rec)


def content(n: int = 400) -> bytes:
    """n lines with the kinds of trouble real logs have: bad JSON, a missing time, a blank line, a duplicate id."""
    out = []
    for i in range(n):
        if i % 53 == 7:
            out.append('{"timestamp": "2026-11-18T23:59:00Z", "request_id": "cut')
        elif i % 61 == 9:
            out.append(json.dumps({"request_id": f"nt{i}", "model": "m1"}))  # no timestamp: quarantined
        elif i % 71 == 5:
            out.append("")
        elif i % 37 == 20:
            out.append(line(i, rid=f"r{i - 10}"))  # the id of a line ten before: a duplicate
        else:
            out.append(line(i))
    return ("\n".join(out) + "\n").encode()


def tables(db: Path) -> dict[str, list]:
    """Every table that ingestion fills, without its ingest time."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            "requests": con.execute("SELECT * EXCLUDE (ingested_at) FROM requests ORDER BY ALL").fetchall(),
            "quarantine": con.execute("SELECT * EXCLUDE (ingested_at) FROM quarantine ORDER BY ALL").fetchall(),
            "skipped": con.execute("SELECT * EXCLUDE (ingested_at) FROM skipped_lines ORDER BY ALL").fetchall(),
            "windows": con.execute("SELECT * FROM request_windows ORDER BY ALL").fetchall(),
        }
    finally:
        con.close()


def one_shot(tmp: Path, paths: list[Path], fmt: str = "jsonl") -> dict[str, list]:
    """The tables of one ingest of `paths` as they are now, into a fresh warehouse."""
    db = tmp / f"one-{len(list(tmp.glob('one-*')))}.duckdb"
    DuckDBEngine(db).ingest(build_request([str(p) for p in paths], fmt, now=NOW, source="s"))
    return tables(db)


def follow(db: Path, paths: list[Path], fmt: str = "jsonl"):
    """One incremental ingest of `paths` into `db`."""
    return ingest_incremental(DuckDBEngine(db), build_request([str(p) for p in paths], fmt, now=NOW, source="s"))


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as fh:
        fh.write(data)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(min_value=1, max_value=len(content()) - 1), max_size=6, unique=True))
def test_any_append_split_equals_one_ingest(tmp_path_factory, cuts):
    tmp = tmp_path_factory.mktemp("split")
    data = content()
    log = tmp / "requests.jsonl"
    log.write_bytes(b"")
    db = tmp / "inc.duckdb"
    prev = 0
    for c in [*sorted(cuts), len(data)]:
        append(log, data[prev:c])
        prev = c
        follow(db, [log])
    assert tables(db) == one_shot(tmp, [log])


def test_partial_last_line_waits_for_its_newline(tmp_path):
    log, db = tmp_path / "requests.jsonl", tmp_path / "inc.duckdb"
    whole = line(1) + "\n"
    log.write_text(line(0) + "\n" + whole[:30])
    r = follow(db, [log])
    assert (r.read, r.clean, r.quarantined, r.pending_bytes) == (1, 1, 0, 30)
    append(log, whole[30:].encode())
    r = follow(db, [log])
    assert (r.read, r.clean, r.quarantined, r.pending_bytes) == (1, 1, 0, 0)
    assert tables(db) == one_shot(tmp_path, [log])
    r = follow(db, [log])  # nothing new: nothing read, nothing changed
    assert (r.read, r.new_bytes) == (0, 0)


def test_csv_read_from_the_middle_keeps_its_header(tmp_path):
    log, db = tmp_path / "requests.csv", tmp_path / "inc.duckdb"
    rows = [f"{(T0 + dt.timedelta(seconds=30 * i)).isoformat()},c{i},m1,{100 + i}" for i in range(60)]
    log.write_text("timestamp,request_id,model,latency_ms\n" + "\n".join(rows[:25]) + "\n")
    follow(db, [log], "csv")
    append(log, ("\n".join(rows[25:]) + "\n").encode())
    r = follow(db, [log], "csv")
    assert (r.read, r.clean, r.skipped) == (35, 35, 0)  # the header copied in front is not counted again
    assert tables(db) == one_shot(tmp_path, [log], "csv")


def _rotate_by_rename(log: Path) -> Path:
    rotated = log.with_name(log.name + ".1")
    os.rename(log, rotated)
    return rotated


def _rotate_by_gzip(log: Path) -> Path:
    rotated = log.with_name(log.name + ".1.gz")
    with open(log, "rb") as src, gzip.open(rotated, "wb") as dst:
        shutil.copyfileobj(src, dst)
    log.unlink()
    return rotated


def _rotate_by_copytruncate(log: Path) -> Path:
    rotated = log.with_name(log.name + ".1")
    shutil.copyfile(log, rotated)
    with open(log, "r+b") as fh:
        fh.truncate(0)
    return rotated


@pytest.mark.parametrize("rotate", [_rotate_by_rename, _rotate_by_gzip, _rotate_by_copytruncate])
def test_rotation_loses_and_repeats_nothing(tmp_path, rotate):
    data = content(300).split(b"\n")
    first, late, after = b"\n".join(data[:100]) + b"\n", b"\n".join(data[100:150]) + b"\n", b"\n".join(data[150:])
    log, db = tmp_path / "requests.jsonl", tmp_path / "inc.duckdb"
    log.write_bytes(first)
    follow(db, [log])
    append(log, late)  # written after the last read and before the rotation: only the rotated file holds them
    rotated = rotate(log)
    append(log, after)
    r = follow(db, [log])  # the configured path names only the live file: the rotated one is found beside it
    assert any("rotated to" in w for w in r.warnings), r.warnings
    want = one_shot(tmp_path, [rotated, log])
    got = tables(db)
    assert got == want
    labels = {row[-3] for row in got["requests"]}  # source_file: the rotated file's rows carry its new name
    assert labels == {str(rotated), str(log)}
    cursors = {c.label: c for c in load_cursors(DuckDBEngine(db))}
    assert set(cursors) == {str(rotated), str(log)}
    # A glob that also matches the rotated file reads nothing twice.
    r = follow(db, [rotated, log])
    assert r.read == 0 and tables(db) == want


def test_file_replaced_by_another_of_the_same_name(tmp_path):
    log, db = tmp_path / "requests.jsonl", tmp_path / "inc.duckdb"
    log.write_text("\n".join(line(i) for i in range(20)) + "\n")
    follow(db, [log])
    log.unlink()
    log.write_text("\n".join(line(i, rid=f"new{i}") for i in range(100, 105)) + "\n")
    r = follow(db, [log])
    assert (r.read, r.clean) == (5, 5)
    assert any("replaced by another file" in w for w in r.warnings), r.warnings
    got = tables(db)
    assert len(got["requests"]) == 25
    old = {row[-3] for row in got["requests"] if not row[1].startswith("new")}
    assert len(old) == 1 and old.pop().startswith(f"{log}#inode")  # the old file's rows keep a name of their own


def test_truncated_in_place_without_a_copy_is_said(tmp_path):
    log, db = tmp_path / "requests.jsonl", tmp_path / "inc.duckdb"
    log.write_text("\n".join(line(i) for i in range(20)) + "\n")
    follow(db, [log])
    with open(log, "r+b") as fh:
        fh.truncate(0)
    append(log, (line(50, rid="after") + "\n").encode())
    r = follow(db, [log])
    assert any("shrank" in w for w in r.warnings), r.warnings
    assert (r.read, r.clean) == (1, 1)


def test_two_files_appended_at_once(tmp_path):
    a, b, db = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "inc.duckdb"
    a.write_text("\n".join(line(i) for i in range(0, 40)) + "\n")
    b.write_text("\n".join(line(i, rid=f"b{i}") for i in range(0, 30)) + "\n")
    follow(db, [a, b])
    append(a, ("\n".join(line(i) for i in range(40, 90)) + "\n").encode())
    append(b, ("\n".join(line(i, rid=f"b{i}") for i in range(30, 70)) + "\n").encode())
    r = follow(db, [a, b])
    assert (r.read, r.clean) == (90, 90)
    assert r.files == {str(a): {"format": "jsonl", "lines": 50}, str(b): {"format": "jsonl", "lines": 40}}
    assert tables(db) == one_shot(tmp_path, [a, b])


def test_duplicate_of_an_earlier_append_names_the_first_line(tmp_path):
    log, db = tmp_path / "requests.jsonl", tmp_path / "inc.duckdb"
    log.write_text(line(0) + "\n" + line(1) + "\n")
    follow(db, [log])
    append(log, (line(2, rid="r0") + "\n").encode())
    r = follow(db, [log])
    assert r.by_reason == {"duplicate": 1}
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT line_no, detail FROM quarantine").fetchall() == [
        (3, f"request_id already seen at {log}:1")
    ]
    con.close()


def test_a_batch_run_between_live_reads_changes_nothing(tmp_path):
    """The hourly batch re-reads the day (replacing the slice); the live reads go on from their cursor."""
    data = content(200).split(b"\n")
    log, db = tmp_path / "requests.jsonl", tmp_path / "inc.duckdb"
    log.write_bytes(b"\n".join(data[:80]) + b"\n" + data[80][:20])  # a partial last line at the batch's read
    follow(db, [log])
    DuckDBEngine(db).ingest(build_request([str(log)], "jsonl", now=NOW, source="s", partition=dt.date(2026, 11, 18)))
    append(log, data[80][20:] + b"\n" + b"\n".join(data[81:]))
    follow(db, [log])
    assert tables(db) == one_shot(tmp_path, [log])


def test_cli_incremental(tmp_path, write_config, capsys):
    from monitor_pipeline.cli.app import main

    cfg = write_config([])
    log = tmp_path / "requests.jsonl"
    log.write_text("\n".join(line(i) for i in range(10)) + "\n")
    args = ["--config", str(cfg), "ingest", str(log), "--incremental", "--format", "jsonl"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["clean"] == 10
    append(log, (line(10) + "\n").encode())
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["read"], out["clean"], out["new_bytes"]) == (1, 1, len(line(10)) + 1)
    assert main([*args, "--partition", "2026-11-18"]) == 2


def test_a_logrotate_shift_follows_every_generation(tmp_path):
    """x.1 moves to x.2.gz, x to x.1, a new x begins: each generation's rows follow it, nothing is read twice."""
    log, db = tmp_path / "requests.jsonl", tmp_path / "inc.duckdb"
    log.write_text("\n".join(line(i) for i in range(0, 30)) + "\n")
    follow(db, [log])
    first = _rotate_by_rename(log)
    log.write_text("\n".join(line(i) for i in range(30, 60)) + "\n")
    follow(db, [log])
    second = tmp_path / "requests.jsonl.2.gz"
    with open(first, "rb") as src, gzip.open(second, "wb") as dst:
        shutil.copyfileobj(src, dst)
    first.unlink()
    os.rename(log, first)
    append(first, ("\n".join(line(i) for i in range(60, 70)) + "\n").encode())  # written before the writer reopened
    log.write_text("\n".join(line(i) for i in range(70, 80)) + "\n")
    r = follow(db, [log])
    assert (r.read, r.clean) == (20, 20), r.warnings
    assert tables(db) == one_shot(tmp_path, [second, first, log])


def test_hostile_values_a_huge_line_and_a_real_sample_read_incrementally_equal_one_ingest(tmp_path):
    """Values that would act in HTML or Slack, a 2 MB line and the real OpenAI Batch output, appended in pieces."""
    from hostile import HOSTILE

    real = (Path(__file__).resolve().parents[1] / "data" / "real" / "openai_batch_output.jsonl").read_bytes()
    bad = [json.dumps({**json.loads(line(i, rid=f"h{i}")), "model": v, "user_id": v}) for i, v in enumerate(HOSTILE)]
    huge = '{"timestamp": "2026-11-18T23:50:00Z", "prompt": "' + "x" * 2_000_000 + '"}'
    log, db = tmp_path / "requests.jsonl", tmp_path / "inc.duckdb"
    log.write_text("\n".join(bad[:2]) + "\n")
    follow(db, [log])
    append(log, ("\n".join([*bad[2:], huge]) + "\n").encode())
    r = follow(db, [log])
    assert r.by_reason == {"line_too_long": 1}
    got = tables(db)
    assert got == one_shot(tmp_path, [log])
    assert {row[2] for row in got["requests"]} == set(HOSTILE)  # stored as they came, escaped only where shown
    batch, bdb = tmp_path / "batch.jsonl", tmp_path / "batch.duckdb"
    cut = real.index(b"\n", len(real) // 2) + 1
    batch.write_bytes(real[:cut])
    follow(bdb, [batch], "openai_batch")
    append(batch, real[cut:])
    follow(bdb, [batch], "openai_batch")
    assert tables(bdb) == one_shot(tmp_path, [batch], "openai_batch")
