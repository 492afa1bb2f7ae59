"""`monitor-pipeline ui`: the Dagster UI and the MLflow UI on loopback, both stopped cleanly on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from monitor_pipeline.demo import dagster_home
from monitor_pipeline.settings import PROJECT_ROOT, load_config


def ui_commands(config_path: str | None = None, host: str = "127.0.0.1", dagster_port: int = 3000,
                mlflow_port: int = 5000) -> list[list[str]]:
    """The two server command lines (Dagster webserver + daemon via `dagster dev`, and `mlflow ui`)."""
    cfg = load_config(config_path)
    bindir = Path(sys.executable).parent
    uri = cfg.mlflow.tracking_uri
    store = uri if uri and not uri.startswith(("http://", "https://")) else f"sqlite:///{cfg.data_path() / 'mlflow.db'}"
    return [
        [str(bindir / "dagster"), "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", host, "-p", str(dagster_port)],
        [str(bindir / "mlflow"), "ui", "--backend-store-uri", store,
         "--default-artifact-root", str(cfg.data_path() / "mlartifacts"), "--host", host, "--port", str(mlflow_port)],
    ]


def run_ui(config_path: str | None = None, **ports: int) -> int:
    """Start both servers, each in its own process group, and stop both on Ctrl-C or when one exits."""
    cfg = load_config(config_path)
    dagster_home(cfg)
    cfg.data_path().mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, DAGSTER_DISABLE_TELEMETRY="1", MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="1")
    if config_path:
        env["MONITOR_CONFIG"] = str(Path(config_path).resolve())
    # Own sessions: a background `dagster dev` ignores SIGINT, so we signal each group ourselves.
    procs = [subprocess.Popen(cmd, env=env, cwd=PROJECT_ROOT, start_new_session=True)
             for cmd in ui_commands(config_path, **ports)]
    dport, mport = ports.get("dagster_port", 3000), ports.get("mlflow_port", 5000)
    print(f"Dagster UI: http://127.0.0.1:{dport}   MLflow UI: http://127.0.0.1:{mport}   (Ctrl-C stops both)", flush=True)
    code = 0
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        code = next((p.returncode for p in procs if p.returncode), 0)
    except KeyboardInterrupt:
        pass
    finally:
        stop(procs)
    return code


def stop(procs: list[subprocess.Popen], grace_s: float = 15.0) -> None:
    """SIGINT each process group (what Ctrl-C would send), then SIGTERM, then SIGKILL what is left after `grace_s`."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        for p in procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, sig)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + grace_s / 2
        while time.monotonic() < deadline and any(p.poll() is None for p in procs):
            time.sleep(0.2)
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
