"""`dagster definitions validate` accepts the code location that workspace.yaml loads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from paths import ROOT

pytestmark = pytest.mark.slow


def _dagster() -> str:
    return str(Path(sys.executable).with_name("dagster"))


def test_workspace_validates(tmp_path):
    env = dict(os.environ, DAGSTER_HOME=str(tmp_path / "dh"), MONITOR_DATA_DIR=str(tmp_path / "data"))
    (tmp_path / "dh").mkdir()
    out = subprocess.run(
        [_dagster(), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "monitor_pipeline" in out.stdout + out.stderr


def test_validate_fails_on_a_broken_config(tmp_path):
    """The same command fails, naming the file and key, when the config it loads is wrong (the test can fail)."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("engine: duckdb\nno_such_key: 1\n")
    env = dict(os.environ, DAGSTER_HOME=str(tmp_path / "dh"), MONITOR_CONFIG=str(bad))
    (tmp_path / "dh").mkdir()
    out = subprocess.run(
        [_dagster(), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode != 0
    assert "no_such_key" in out.stdout + out.stderr
