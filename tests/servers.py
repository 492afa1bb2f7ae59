"""Helpers for tests that start servers on loopback: free ports, readiness polling, stopping a process group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable


def free_port() -> int:
    """A loopback port the kernel just handed out (ephemeral): nothing listens on it right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_ok(url: str, timeout_s: float = 5) -> bool:
    """True when `url` answers 200 within `timeout_s`."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as r:
            return r.status == 200
    except (OSError, urllib.error.URLError):
        return False


def wait_until(
    what: str,
    ready: Callable[[], bool],
    timeout_s: float,
    alive: Callable[[], str | None] = lambda: None,
    every_s: float = 1.0,
) -> None:
    """Poll `ready` until true; fail after `timeout_s`, or as soon as `alive` reports a dead server."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return
        dead = alive()
        if dead:
            raise AssertionError(f"{what}: {dead}")
        time.sleep(every_s)
    raise AssertionError(f"{what}: not ready after {timeout_s:.0f} s")


def stop_groups(procs: list[subprocess.Popen], grace_s: float = 20) -> None:
    """Stop servers started with start_new_session as `make ui` stops its own (SIGINT, SIGTERM, SIGKILL), then
    SIGKILL whatever else is left in their process groups (workers that outlive their parent)."""
    from monitor_pipeline.ui import stop

    try:
        stop(procs, grace_s=grace_s)
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
