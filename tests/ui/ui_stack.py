"""The product as `make ui` serves it, on ephemeral loopback ports: a small simulated service, `dagster dev`, `mlflow ui`."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from servers import http_ok, stop_groups, wait_until

from monitor_pipeline.settings import PROJECT_ROOT

DAYS = ("2026-11-17", "2026-11-18")  # simulated; the UI run ingests the second, drift compares it with the first
FORECAST_DAY = "2026-11-19"  # the forecaster trains on the two simulated days before it
FORECAST_SERIES = "requests.count"
REQUESTS_PER_DAY = 5000
# Chromium's background services (updates, sync, QUIC probes) try the network, which this loopback-only test refuses.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SECRET_ENV = ("SLACK_WEBHOOK_URL", "SLACK_BOT_TOKEN", "SLACK_SECURITY_WEBHOOK_URL", "OPENAI_API_KEY")


def write_project(root: Path, mlflow_port: int) -> Path:
    """Simulate the days into root/data/sim and write a pipeline config that reads them; return the config path."""
    from monitor_pipeline.simulate import simulate

    data = root / "data"
    simulate(data / "sim", days=len(DAYS), seed=11, requests_per_day=REQUESTS_PER_DAY)
    sim = data / "sim"
    config = {
        "data_dir": str(data),
        "partitions": {"start_date": "2026-11-01"},
        "mlflow": {
            "ui_url": f"http://127.0.0.1:{mlflow_port}"
        },  # Dagster metadata links point at this test's MLflow UI
        "sources": [
            {"name": "gateway", "paths": [str(sim / "requests-{date}.jsonl")], "format": "jsonl"},
            {"name": "gpu_samples", "paths": [str(sim / "resources-{date}.jsonl")], "format": "resources_jsonl"},
            {"name": "seed_online", "paths": [str(sim / "online.log")], "format": "online_log"},
            {"name": "seed_offline", "paths": [str(sim / "offline.log")], "format": "offline_log"},
        ],
        # One series, all four model kinds, tiny networks: a forecaster run of seconds with LSTM, GRU, ARIMA and naive.
        "forecasting": {
            "epochs": 2,
            "hidden": 8,
            "folds": 2,
            "series": [
                {
                    "name": "count",
                    "table": "request_windows",
                    "value": "sum(requests)",
                    "fill": "zero",
                    "models": ["seasonal_naive", "arima", "lstm", "gru"],
                }
            ],
        },
    }
    path = root / "configs" / "pipeline.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(config))
    return path


def prepare_history(config: Path) -> None:
    """In this process: ingest every simulated day (history for drift) and train the forecasters for FORECAST_DAY."""
    import dagster as dg

    from monitor_pipeline.definitions import build_definitions
    from monitor_pipeline.defs.forecasting.forecast_champions import forecast_champions
    from monitor_pipeline.defs.ingestion.assets import ingestion

    resources = build_definitions(str(config)).resources
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    with dg.DagsterInstance.ephemeral() as instance:
        for day in DAYS:
            assert dg.materialize(
                [ingestion], partition_key=day, resources=resources, instance=instance, run_config=quiet
            ).success, f"ingesting {day} failed"
        assert dg.materialize(
            [forecast_champions], partition_key=FORECAST_DAY, resources=resources, instance=instance, run_config=quiet
        ).success, f"forecast_champions for {FORECAST_DAY} failed"


@dataclass
class Stack:
    """The two servers of `make ui` for one config, each in its own process group."""

    config: Path
    dagster_home: Path
    logs: Path
    dagster_port: int
    mlflow_port: int
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    run_id: str = ""
    run: dict = field(default_factory=dict)  # status and step stats of the run launched through the API

    @property
    def dagster_url(self) -> str:
        """Base URL of the Dagster UI."""
        return f"http://127.0.0.1:{self.dagster_port}"

    @property
    def mlflow_url(self) -> str:
        """Base URL of the MLflow UI."""
        return f"http://127.0.0.1:{self.mlflow_port}"

    def start(self) -> None:
        """Start `dagster dev` and `mlflow ui` as `monitor-pipeline ui` does (its own command lines and env)."""
        from monitor_pipeline.ui import ui_commands

        self.dagster_home.mkdir(parents=True, exist_ok=True)
        # nux off: no "join the community" dialog over the pages we photograph.
        (self.dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
        env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
        env.update(
            MONITOR_CONFIG=str(self.config),
            DAGSTER_HOME=str(self.dagster_home),
            DAGSTER_DISABLE_TELEMETRY="1",
            MLFLOW_DISABLE_TELEMETRY="true",
            DO_NOT_TRACK="1",
            OMP_NUM_THREADS="1",
        )
        dagster_cmd, mlflow_cmd = ui_commands(
            str(self.config), dagster_port=self.dagster_port, mlflow_port=self.mlflow_port
        )
        self.logs.mkdir(parents=True, exist_ok=True)
        for name, cmd in (("dagster", dagster_cmd), ("mlflow", mlflow_cmd)):
            with open(self.logs / f"{name}.log", "wb") as log:
                self.procs[name] = subprocess.Popen(
                    cmd,
                    env=env,
                    cwd=PROJECT_ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )

    def log_tail(self, name: str, chars: int = 3000) -> str:
        """The end of a server's output, for failure messages."""
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def dead(self) -> str | None:
        """Which server exited, with its output, or None while both run."""
        for name, p in self.procs.items():
            if p.poll() is not None:
                return f"{name} exited with {p.returncode}:\n{self.log_tail(name)}"
        return None

    def wait_ready(self, timeout_s: float) -> None:
        """Both servers answer and the code location has loaded."""
        wait_until("mlflow ui", lambda: http_ok(f"{self.mlflow_url}/health"), timeout_s, self.dead)
        wait_until("dagster dev", lambda: http_ok(f"{self.dagster_url}/server_info"), timeout_s, self.dead)
        wait_until("code location", lambda: self._location_loaded(), timeout_s, self.dead, every_s=2)

    def _location_loaded(self) -> bool:
        data = self.graphql(
            "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus "
            "locationOrLoadError { __typename ... on PythonError { message } } } } } }"
        )
        entries = data["workspaceOrError"]["locationEntries"]
        for e in entries:
            if e["locationOrLoadError"] and e["locationOrLoadError"]["__typename"] == "PythonError":
                raise AssertionError(f"the code location failed to load: {e['locationOrLoadError']['message']}")
        return bool(entries) and all(e["loadStatus"] == "LOADED" and e["locationOrLoadError"] for e in entries)

    def graphql(self, query: str, variables: dict | None = None, timeout_s: float = 60) -> dict:
        """POST a query to the Dagster webserver's GraphQL API; fail on GraphQL errors."""
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        req = urllib.request.Request(f"{self.dagster_url}/graphql", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout_s) as r:
            out = json.load(r)
        assert not out.get("errors"), out["errors"]
        return out["data"]

    def launch(self, job: str, partition: str) -> str:
        """Launch `job` for one partition through the API the UI's Materialize button uses; return the run id."""
        repo = self.graphql(
            "{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } } } } }"
        )
        node = repo["repositoriesOrError"]["nodes"][0]
        params = {
            "selector": {
                "repositoryLocationName": node["location"]["name"],
                "repositoryName": node["name"],
                "pipelineName": job,
            },
            "runConfigData": {},
            "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]},
        }
        out = self.graphql(
            """mutation($p: ExecutionParams!) { launchPipelineExecution(executionParams: $p) {
            __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
            ... on RunConfigValidationInvalid { errors { message } } ... on InvalidSubsetError { message } } }""",
            {"p": params},
        )["launchPipelineExecution"]
        assert out["__typename"] == "LaunchRunSuccess", out
        return out["run"]["runId"]

    def wait_run(self, run_id: str, timeout_s: float) -> dict:
        """Wait for a run to finish; its status and the messages of failed steps."""
        status: dict = {}

        def done() -> bool:
            run = self.graphql(
                "query($id: ID!) { runOrError(runId: $id) { ... on Run { status stepStats { stepKey status } } } }",
                {"id": run_id},
            )["runOrError"]
            status.update(run)
            return run["status"] in ("SUCCESS", "FAILURE", "CANCELED")

        wait_until(f"run {run_id}", done, timeout_s, self.dead, every_s=2)
        return status

    def stop(self) -> None:
        """Ctrl-C each server's process group, then make sure nothing of either group is left."""
        stop_groups(list(self.procs.values()))
