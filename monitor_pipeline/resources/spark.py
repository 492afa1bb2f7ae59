"""Spark settings and sessions: loopback-safe defaults, UTC, and a clear error for an unreachable master."""

from __future__ import annotations

import os
import socket
import threading
from urllib.parse import urlparse

from monitor_pipeline.errors import EngineError
from monitor_pipeline.settings import SparkConfig


def spark_conf(cfg: SparkConfig) -> dict[str, str]:
    """spark.* settings for a session: the master, UTC, no UI; a local master binds to loopback only."""
    conf = {
        "spark.master": cfg.master,
        "spark.app.name": cfg.app_name,
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        "spark.sql.shuffle.partitions": "8",
        "spark.ui.showConsoleProgress": "false",
    }
    if cfg.master.startswith("local"):
        # Spark otherwise picks a non-loopback address, which a sandbox or a laptop on VPN may not route.
        conf.update({"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"})
    conf.update(cfg.conf)
    return conf


def _check_master(master: str, timeout_s: float) -> None:
    """Fail fast, with one line, when a spark:// master does not accept connections."""
    if not master.startswith("spark://"):
        return
    for hostport in master.removeprefix("spark://").split(","):
        u = urlparse(f"spark://{hostport}")
        try:
            with socket.create_connection((u.hostname or "", u.port or 7077), timeout=timeout_s):
                return
        except OSError as exc:
            last = exc
    raise EngineError(f"Spark master {master} unreachable after {timeout_s:g} s: {last}")


def get_spark_session(cfg: SparkConfig):
    """A SparkSession for `cfg`, or EngineError naming the master when it cannot be reached in time."""
    _check_master(cfg.master, cfg.connect_timeout_s)
    if cfg.master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    builder = SparkSession.builder
    for k, v in spark_conf(cfg).items():
        builder = builder.config(k, v)
    box: dict = {}

    def start() -> None:
        try:
            box["session"] = builder.getOrCreate()
        except Exception as exc:  # noqa: BLE001 - reported below with the master's name
            box["error"] = exc

    t = threading.Thread(target=start, daemon=True)
    t.start()
    t.join(cfg.connect_timeout_s + 60)  # JVM start-up comes on top of the connect time
    if "session" in box:
        box["session"].sparkContext.setLogLevel("ERROR")
        return box["session"]
    cause = str(box.get("error", "timed out")).strip().splitlines()[0][:200]
    raise EngineError(f"Spark master {cfg.master} unreachable after {cfg.connect_timeout_s} s: {cause}")
