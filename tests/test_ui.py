"""`monitor-pipeline ui` serves both UIs on loopback; Ctrl-C or SIGTERM stops both, leaving nothing behind."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from paths import ROOT
from servers import free_port

pytestmark = pytest.mark.slow


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status
    except Exception:  # noqa: BLE001 - not up yet, whatever the error
        return 0


def test_ui_serves_both_and_stops_on_ctrl_c(write_config, tmp_path):
    cfg = write_config([])
    dport, mport = free_port(), free_port()
    env = dict(os.environ, DAGSTER_HOME=str(tmp_path / "dh"))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "monitor_pipeline.cli",
            "--config",
            str(cfg),
            "ui",
            "--dagster-port",
            str(dport),
            "--mlflow-port",
            str(mport),
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 150
        ok = {"dagster": False, "mlflow": False}
        while time.monotonic() < deadline and not all(ok.values()):
            ok["dagster"] = ok["dagster"] or _get(f"http://127.0.0.1:{dport}/server_info") == 200
            ok["mlflow"] = ok["mlflow"] or _get(f"http://127.0.0.1:{mport}/health") == 200
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(1)
        assert ok == {"dagster": True, "mlflow": True}
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    for port in (dport, mport):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still served after Ctrl-C"


def test_ui_stops_both_servers_and_their_workers_on_sigterm(write_config, tmp_path):
    """`kill PID` (a service manager, a container stop) to the parent alone: no server or worker is left behind."""
    import psutil
    from servers import http_ok, wait_until

    cfg = write_config([])
    dport, mport = free_port(), free_port()
    env = dict(os.environ, DAGSTER_HOME=str(tmp_path / "dh"))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "monitor_pipeline.cli",
            "--config",
            str(cfg),
            "ui",
            "--dagster-port",
            str(dport),
            "--mlflow-port",
            str(mport),
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    children: list[psutil.Process] = []
    try:
        wait_until(
            "both UIs",
            lambda: http_ok(f"http://127.0.0.1:{dport}/server_info") and http_ok(f"http://127.0.0.1:{mport}/health"),
            150,
            alive=lambda: proc.poll() is not None and f"exited {proc.returncode}",
        )
        children = psutil.Process(proc.pid).children(recursive=True)  # dagster dev, mlflow, webserver, daemon, workers
        assert {c.pid for c in psutil.Process(proc.pid).children()} and len(children) >= 4
        proc.send_signal(signal.SIGTERM)  # the parent only: its children sit in their own sessions
        assert proc.wait(timeout=60) == 0
        _, alive = psutil.wait_procs(children, timeout=30)
        assert not alive, [(p.pid, p.cmdline()[:3]) for p in alive]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for c in children:  # leave nothing behind even when the test fails
            with contextlib.suppress(psutil.Error):
                c.kill()
    for port in (dport, mport):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still served after SIGTERM"
