"""bench/live.py's stack: the pipeline YAML of the live sources, the history's start and champions, the live steps'
progress preset, and `dagster dev` started and watched (its GraphQL), its runs read back."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from _live_history import SOURCES

ROOT = Path(__file__).resolve().parent.parent
SECRET_ENV = ("SLACK_WEBHOOK_URL", "SLACK_SECURITY_WEBHOOK_URL", "SLACK_BOT_TOKEN", "SLACK_API_BASE_URL")
OVERLAY_ENV = ("MONITOR_DATA_DIR", "MONITOR_ENGINE", "MLFLOW_TRACKING_URI", "MONITOR_SPARK_MASTER")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(work: Path, interval_s: int | None) -> Path:
    """The bench's pipeline YAML: the live simulator's three files as live sources, data under the work dir."""
    live = work / "live"
    cfg: dict[str, Any] = {
        "data_dir": str(work / "data"),
        "sources": [
            {"name": name, "paths": [str(live / f"{prefix}-{{date}}{ext}")], "format": fmt, "live": True}
            for name, prefix, ext, fmt in SOURCES
        ],
    }
    if interval_s:
        cfg["live"] = {"interval_s": interval_s}
    path = work / "pipeline.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


FALLBACK_DAYS = 2  # the seasonal-naive fallback: a day to forecast from, a day whose residuals calibrate the scores


def history_start(today: dt.date, days: int | None, train: bool) -> float:
    """Epoch seconds the history starts at: `days` days before today's midnight, else what scoring today needs (with
    champions, forecast.scoring.scoring_bounds; with the seasonal-naive fallback, FALLBACK_DAYS days)."""
    from monitor_pipeline.forecast.scoring import scoring_bounds
    from monitor_pipeline.settings import load_config

    if days is None and train:
        return scoring_bounds(today, load_config().forecasting)[0].timestamp()
    days = FALLBACK_DAYS if days is None else days
    return dt.datetime.combine(today - dt.timedelta(days=days), dt.time(), dt.UTC).timestamp()


def _train(day: str, out: Any) -> None:
    """Child process: forecast_champions for `day` (backtests, MLflow runs, champions registered) in an ephemeral
    instance, so that the daemon's automation sees no materialization to react to."""
    import dagster as dg

    from monitor_pipeline.definitions import build_definitions
    from monitor_pipeline.defs.forecasting.forecast_champions import forecast_champions

    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    with dg.DagsterInstance.ephemeral() as instance:
        res = dg.materialize(
            [forecast_champions],
            partition_key=day,
            resources=build_definitions().resources,
            instance=instance,
            run_config=quiet,
            raise_on_error=False,
        )
        meta = {}
        for e in res.get_asset_materialization_events():
            champs = e.materialization.metadata.get("champions")
            meta = champs.value if champs is not None else {}
        out.put({"success": res.success, "champions": {k: v.get("model") for k, v in meta.items()}})


def train(day: str) -> dict[str, Any]:
    import multiprocessing as mp

    t = time.monotonic()
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_train, args=(day, q))
    p.start()
    out = q.get()
    p.join()
    out["seconds"] = round(time.monotonic() - t, 1)
    return out


def preset_live_state(config: Path, until: dt.datetime) -> None:
    """The live security scan and anomaly scoring start after the history: as if the loop had been running."""
    from monitor_pipeline.defs.live.assets import ANOMALIES, SECURITY
    from monitor_pipeline.resources.warehouse import WarehouseResource
    from monitor_pipeline.warehouse.live import set_until

    with WarehouseResource(config_path=str(config)).connect() as con:
        for name in (SECURITY, ANOMALIES):
            set_until(con, name, until)


def graphql(port: int, query: str) -> dict:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        json.dumps({"query": query}).encode(),
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def ready(port: int) -> bool:
    """The webserver answers, the code location loaded and the sensor daemon beats."""
    try:
        data = graphql(
            port,
            "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } "
            "instance { daemonHealth { allDaemonStatuses { daemonType healthy } } } }",
        )["data"]
    except Exception:  # noqa: BLE001 - not up yet, whatever the error
        return False
    entries = data["workspaceOrError"]["locationEntries"]
    daemons = {d["daemonType"]: d["healthy"] for d in data["instance"]["daemonHealth"]["allDaemonStatuses"]}
    return bool(entries) and all(e["loadStatus"] == "LOADED" for e in entries) and bool(daemons.get("SENSOR"))


def start_dagster(work: Path, config: Path, port: int, slack_url: str) -> subprocess.Popen:
    """`dagster dev` as `monitor-pipeline ui` starts it, in its own process group, Slack pointed at the stub."""
    from monitor_pipeline.ui import ui_commands

    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV + OVERLAY_ENV}
    env.update(
        MONITOR_CONFIG=str(config),
        DAGSTER_HOME=str(work / "dagster"),
        SLACK_WEBHOOK_URL=slack_url,
        SLACK_SECURITY_WEBHOOK_URL=slack_url.replace("/services/", "/services/security/"),
        DAGSTER_DISABLE_TELEMETRY="1",
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="1",
    )
    cmd = ui_commands(str(config), dagster_port=port)[0]
    with open(work / "dagster.log", "wb") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            cmd,
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def run_records(home: Path) -> list[Any]:
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home)
    with dg.DagsterInstance.get() as instance:
        return list(instance.get_run_records(dg.RunsFilter()))
