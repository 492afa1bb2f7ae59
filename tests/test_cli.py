"""The monitor-pipeline command: JSON counts from `ingest`, one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

from paths import ROOT, SAMPLES

from monitor_pipeline.cli import main


def test_ingest_prints_counts(tmp_path, capsys):
    rc = main(["ingest", str(SAMPLES / "requests.jsonl"), str(SAMPLES / "online.log"), "--data-dir", str(tmp_path)])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert {"read", "clean", "quarantined", "by_reason", "windows_5m", "windows_1h"} <= out.keys()
    assert out["read"] == out["clean"] + out["quarantined"]
    assert out["quarantined"] == sum(out["by_reason"].values()) == 7
    assert out["by_reason"] == {
        "bad_timestamp": 1,
        "bad_type": 1,
        "duplicate": 1,
        "future_timestamp": 1,
        "malformed": 1,
        "missing_field": 1,
        "out_of_range": 1,
    }
    assert out["by_table"]["online_log"]["clean"] == 720
    assert out["windows_5m"] > 0 and out["windows_1h"] > 0


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "monitor_pipeline.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_missing_path_is_one_line_no_traceback(tmp_path):
    p = _run("ingest", str(tmp_path / "nope.jsonl"), "--data-dir", str(tmp_path))
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0 and "nope.jsonl: no such file" in p.stderr
    assert "Traceback" not in p.stderr


def test_unknown_format_lists_known(tmp_path):
    p = _run("ingest", str(SAMPLES / "requests.jsonl"), "--format", "xml", "--data-dir", str(tmp_path))
    assert p.returncode == 2 and "unknown format 'xml'" in p.stderr and "jsonl" in p.stderr
    assert "Traceback" not in p.stderr


def test_bad_config_key_names_file_and_key(write_config, tmp_path):
    cfg = write_config([], ingest={"max_line_bytez": 5})
    p = _run("--config", str(cfg), "ingest", str(SAMPLES / "requests.jsonl"))
    assert p.returncode == 2 and "unknown key `ingest.max_line_bytez`" in p.stderr and str(cfg) in p.stderr


def test_debug_shows_traceback(tmp_path):
    p = _run("--debug", "ingest", str(tmp_path / "nope.jsonl"), "--data-dir", str(tmp_path))
    assert p.returncode == 2 and "Traceback" in p.stderr


def test_formats_lists_every_format(capsys):
    assert main(["formats"]) == 0
    out = capsys.readouterr().out
    for name in ("jsonl", "csv", "online_log", "offline_log", "azure_trace", "nvidia_smi", "prometheus"):
        assert name in out


def test_unreachable_spark_master_is_one_line(tmp_path):
    import os
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, MONITOR_SPARK_MASTER=f"spark://127.0.0.1:{port}")
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "monitor_pipeline.cli",
            "ingest",
            str(SAMPLES / "requests.jsonl"),
            "--engine",
            "spark",
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=200,
    )
    assert p.returncode == 2 and f"Spark master spark://127.0.0.1:{port} unreachable" in p.stderr
    assert "Traceback" not in p.stderr and p.stderr.strip().count("\n") == 0
