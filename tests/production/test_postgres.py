"""One partition end to end on the production configuration, against a real local PostgreSQL.

Dagster's instance is configs/production/dagster.yaml verbatim (runs, events and schedules in PostgreSQL); MLflow is an
`mlflow server` whose backend store is PostgreSQL and whose artifacts are proxied to a folder (the client sees only
HTTP, as with S3 behind it); Slack is the loopback stand-in. Only the engine (DuckDB: no cluster here), the sources
(a small simulated day) and the hosts (env vars, as in production) differ from the files as written.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml
from paths import ROOT
from production_services import MlflowServer, Postgres, skip_reason
from slack_server import SlackServer

pytestmark = [pytest.mark.slow, pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")]

PROD = ROOT / "configs" / "production"
DAY = "2026-11-17"
INGESTION_ASSETS = {
    "clean_requests",
    "quarantined_lines",
    "request_windows",
    "resource_samples",
    "resource_windows",
    "offline_jobs",
    "partition_plots",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """PostgreSQL with a dagster and an mlflow database, and an MLflow server on it; all stopped at the end."""
    tmp = tmp_path_factory.mktemp("prod")
    pg = Postgres()
    mlflow = None
    try:
        pg.start()
        pg.create_database("dagster", "dagster_user", "dagster-pw-Test1")
        mlflow_url = pg.create_database("mlflow", "mlflow_user", "mlflow-pw-Test2")
        mlflow = MlflowServer(mlflow_url, tmp / "mlflow-artifacts", tmp / "mlflow-server.log").start()
        yield pg, mlflow, tmp
    finally:
        if mlflow is not None:
            mlflow.stop()
        pg.stop()


def _production_copy(tmp: Path, sim: Path) -> Path:
    """configs/production/pipeline.yaml and alerts.yaml with the sources pointed at the simulated day; nothing else."""
    folder = tmp / "production"
    folder.mkdir()
    data = yaml.safe_load((PROD / "pipeline.yaml").read_text())
    data["sources"] = [
        {"name": "gateway", "paths": [str(sim / "requests-{date}.jsonl")], "format": "jsonl"},
        {"name": "gpu_samples", "paths": [str(sim / "resources-{date}.jsonl")], "format": "resources_jsonl"},
        {"name": "seed_online", "paths": [str(sim / "online.log")], "format": "online_log"},
        {"name": "seed_offline", "paths": [str(sim / "offline.log")], "format": "offline_log"},
    ]
    (folder / "pipeline.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    shutil.copy(PROD / "alerts.yaml", folder / "alerts.yaml")
    for base in ("pipeline.yaml", "alerts.yaml"):  # what the overlays extend (`extends: ../<file>`)
        shutil.copy(PROD.parent / base, tmp / base)
    return folder / "pipeline.yaml"


def test_one_partition_end_to_end_on_postgres(stack, monkeypatch, capsys):
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

    from monitor_pipeline.definitions import build_definitions
    from monitor_pipeline.defs.alerting.sensors import alert_sensor
    from monitor_pipeline.resources.slack import SlackAlertsResource
    from monitor_pipeline.settings import load_config
    from monitor_pipeline.simulate import simulate

    pg, mlflow, tmp = stack
    sim = tmp / "sim"
    simulate(sim, days=1, seed=11, requests_per_day=3000, start=dt.date.fromisoformat(DAY))
    cfg_path = _production_copy(tmp, sim)
    home = tmp / "dagster_home"
    home.mkdir()
    shutil.copy(PROD / "dagster.yaml", home / "dagster.yaml")  # verbatim: every connection setting is an env var
    slack = SlackServer().start()
    env = {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": str(pg.port),
        "DAGSTER_PG_USER": "dagster_user",
        "DAGSTER_PG_PASSWORD": "dagster-pw-Test1",
        "DAGSTER_PG_DB": "dagster",
        "MLFLOW_TRACKING_URI": mlflow.url,
        "MONITOR_DATA_DIR": str(tmp / "data"),
        "MONITOR_ENGINE": "duckdb",  # no Spark cluster here; the master override is still applied and checked
        "MONITOR_SPARK_MASTER": "local[1]",
        "SLACK_WEBHOOK_URL": slack.url,
        "SLACK_SECURITY_WEBHOOK_URL": slack.url,
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    try:
        cfg = load_config(cfg_path)
        assert (cfg.engine, cfg.spark.master, cfg.mlflow.tracking_uri) == ("duckdb", "local[1]", mlflow.url)
        mlflow.wait_ready()
        defs = build_definitions(str(cfg_path))
        with dg.DagsterInstance.get() as instance:
            assert isinstance(instance.run_storage, PostgresRunStorage)
            assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
            result = defs.resolve_job_def("ingestion_job").execute_in_process(partition_key=DAY, instance=instance)
            assert result.success
            tick = alert_sensor(
                dg.build_sensor_context(
                    instance=instance,
                    definitions=defs,
                    resources={"slack": SlackAlertsResource(config_path=str(cfg_path), console=False)},
                )
            )
        run_id = result.run_id
        with dg.DagsterInstance.get() as fresh:  # a new instance reads the run back from PostgreSQL
            assert fresh.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS
            latest = fresh.get_latest_materialization_event(dg.AssetKey("clean_requests"))
            assert latest.run_id == run_id and latest.dagster_event.partition == DAY
    finally:
        slack.stop()
    # The CLI the deployment runs (dagster-daemon, dagster-webserver) finds the same instance through DAGSTER_HOME.
    info = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "instance", "info"], capture_output=True, text=True, timeout=120
    )
    assert "PostgresRunStorage" in info.stdout and "PostgresEventLogStorage" in info.stdout, info.stdout + info.stderr
    assert "dagster-pw-Test1" not in info.stdout + info.stderr
    _assert_dagster_rows(pg, run_id)
    _assert_mlflow_rows(pg, mlflow, run_id)
    # Slack got the day's alerts over the webhook, and its secret URL was never logged anywhere we can see.
    assert tick.asset_events and slack.delivered, f"no alert delivered: {tick.skip_reason}"
    meta = tick.asset_events[0].metadata
    assert meta["sent_this_tick"].value == len(slack.delivered) and meta["dead_letter"].value == 0
    secret = "s3cr3tW3bh00kT0k3n"
    assert pg.query(f"SELECT count(*) FROM event_logs WHERE event LIKE '%{secret}%'", db="dagster") == [["0"]]
    out = capsys.readouterr()
    assert secret not in out.out + out.err and "dagster-pw-Test1" not in out.out + out.err


def _assert_dagster_rows(pg: Postgres, run_id: str) -> None:
    """The run, its materializations (with the partition) and its check results are rows of the dagster database."""
    assert pg.query(f"SELECT status FROM runs WHERE run_id = '{run_id}'", db="dagster") == [["SUCCESS"]]
    rows = pg.query(
        "SELECT asset_key, partition FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION' "
        f"AND run_id = '{run_id}'",
        db="dagster",
    )
    keys = {json.loads(k)[0] for k, _ in rows}
    assert INGESTION_ASSETS | {"security_findings", "drift_report", "quality_report"} <= keys
    assert {p for _, p in rows} == {DAY}
    checks = pg.query(
        f"SELECT check_name, execution_status FROM asset_check_executions WHERE run_id = '{run_id}'", db="dagster"
    )
    assert ["nothing_lost", "SUCCEEDED"] in checks
    success = dg.DagsterEventType.RUN_SUCCESS.value  # stored under its legacy name, PIPELINE_SUCCESS
    assert pg.query(
        f"SELECT count(*) FROM event_logs WHERE run_id = '{run_id}' AND dagster_event_type = '{success}'", db="dagster"
    ) == [["1"]]


def _assert_mlflow_rows(pg: Postgres, mlflow: MlflowServer, run_id: str) -> None:
    """Every asset's MLflow run is a row of the mlflow database; its artifacts are files under the server's destination."""
    rows = pg.query(
        "SELECT r.run_uuid, r.status, r.artifact_uri, e.name, "
        "(SELECT value FROM tags a WHERE a.run_uuid = r.run_uuid AND a.key = 'dagster.asset_key') "
        "FROM runs r JOIN experiments e ON e.experiment_id = r.experiment_id "
        f"JOIN tags t ON t.run_uuid = r.run_uuid AND t.key = 'dagster.run_id' AND t.value = '{run_id}'",
        db="mlflow",
    )
    by_asset = {a: (uuid, status, uri, exp) for uuid, status, uri, exp, a in rows}
    assert INGESTION_ASSETS <= set(by_asset), sorted(by_asset)
    assert all(status == "FINISHED" for _, status, _, _ in by_asset.values())
    assert by_asset["clean_requests"][3] == "monitor_pipeline/ingestion"
    uuid = by_asset["clean_requests"][0]
    metrics = dict(pg.query(f"SELECT key, value FROM latest_metrics WHERE run_uuid = '{uuid}'", db="mlflow"))
    assert float(metrics["read"]) == float(metrics["clean"]) + float(metrics["quarantined"]) > 0
    # Proxied artifacts: the run records an mlflow-artifacts:/ URI, the bytes land under --artifacts-destination.
    _, _, uri, _ = by_asset["partition_plots"]
    assert uri.startswith("mlflow-artifacts:/")
    stored = mlflow.artifacts / uri.removeprefix("mlflow-artifacts:/")
    assert {p.suffix for p in stored.rglob("*") if p.is_file()} >= {".png"}, list(stored.rglob("*"))
