"""`monitor-pipeline ui`: the Dagster UI and the MLflow UI on loopback, both stopped cleanly on Ctrl-C, SIGTERM, SIGHUP."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from monitor_pipeline.demo import dagster_home
from monitor_pipeline.settings import PROJECT_ROOT, load_config


def ui_commands(
    config_path: str | None = None, host: str = "127.0.0.1", dagster_port: int = 3000, mlflow_port: int = 5000
) -> list[list[str]]:
    """The two server command lines (Dagster webserver + daemon via `dagster dev`, and `mlflow ui`)."""
    cfg = load_config(config_path)
    bindir = Path(sys.executable).parent
    uri = cfg.mlflow.tracking_uri
    store = uri if uri and not uri.startswith(("http://", "https://")) else f"sqlite:///{cfg.data_path() / 'mlflow.db'}"
    return [
        [
            str(bindir / "dagster"),
            "dev",
            "-w",
            str(PROJECT_ROOT / "workspace.yaml"),
            "-h",
            host,
            "-p",
            str(dagster_port),
        ],
        [
            str(bindir / "mlflow"),
            "ui",
            "--backend-store-uri",
            store,
            "--default-artifact-root",
            str(cfg.data_path() / "mlartifacts"),
            "--host",
            host,
            "--port",
            str(mlflow_port),
        ],
    ]


STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


class _StopRequested(Exception):
    """A stop signal reached `monitor-pipeline ui` (Ctrl-C, `kill`, a closed terminal, a service manager)."""


def _request_stop(signum: int, frame) -> None:
    raise _StopRequested(signal.Signals(signum).name)


def run_ui(config_path: str | None = None, **ports: int) -> int:
    """Start both servers, each in its own process group; stop both on SIGINT (Ctrl-C), SIGTERM or SIGHUP, or when
    one exits."""
    cfg = load_config(config_path)
    dagster_home(cfg)
    cfg.data_path().mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, DAGSTER_DISABLE_TELEMETRY="1", MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="1")
    if config_path:
        env["MONITOR_CONFIG"] = str(Path(config_path).resolve())
    commands = ui_commands(config_path, **ports)
    # Handlers before the children start: a signal that arrives at any point stops what has started. Handled (not
    # ignored) signals are reset to their defaults in the children, so `dagster dev` takes SIGINT even when we were
    # started in the background, where SIGINT comes ignored.
    main = threading.current_thread() is threading.main_thread()
    previous = {s: signal.signal(s, _request_stop) for s in STOP_SIGNALS} if main else {}
    procs: list[subprocess.Popen] = []
    code = 0
    try:
        # Own sessions: a terminal's Ctrl-C reaches only us, and we signal each group ourselves.
        for cmd in commands:
            procs.append(subprocess.Popen(cmd, env=env, cwd=PROJECT_ROOT, start_new_session=True))
        dport, mport = ports.get("dagster_port", 3000), ports.get("mlflow_port", 5000)
        print(
            f"Dagster UI: http://127.0.0.1:{dport}   MLflow UI: http://127.0.0.1:{mport}   (Ctrl-C stops both)",
            flush=True,
        )
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        code = next((p.returncode for p in procs if p.returncode), 0)
    except (KeyboardInterrupt, _StopRequested) as why:
        with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone
            print(f"stopping the Dagster and MLflow UIs ({why or 'SIGINT'})", flush=True)
    finally:
        for s in previous:  # a second signal must not cut the clean-up short (stop() ends in SIGKILL anyway)
            signal.signal(s, signal.SIG_IGN)
        try:
            stop(procs)
        finally:
            for s, handler in previous.items():
                signal.signal(s, signal.SIG_DFL if handler is None else handler)
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
