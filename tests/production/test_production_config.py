"""configs/production/ as written: the pipeline config, its alert routing and the Dagster instance file validate."""

from __future__ import annotations

import json

import pytest
import yaml
from paths import ROOT

from monitor_pipeline.alerts.config import load_alerts_config
from monitor_pipeline.alerts.cycle import alerts_config, transports
from monitor_pipeline.alerts.slack import LocalTransport, WebhookTransport
from monitor_pipeline.settings import load_config

PROD = ROOT / "configs" / "production"
PG_ENV = {
    "DAGSTER_PG_HOST": "db.internal",
    "DAGSTER_PG_PORT": "5432",
    "DAGSTER_PG_USER": "dagster",
    "DAGSTER_PG_PASSWORD": "pg-secret-value",
    "DAGSTER_PG_DB": "dagster",
}


def test_production_pipeline_config_loads_with_spark_mlflow_server_and_slack():
    cfg = load_config(PROD / "pipeline.yaml", env={})
    assert cfg.engine == "spark" and cfg.spark.master.startswith("spark://")
    assert cfg.spark.output.startswith("s3a://") and all(p.startswith("s3a://") for s in cfg.sources for p in s.paths)
    assert cfg.mlflow.tracking_uri.startswith("http") and cfg.mlflow.artifact_root is None
    assert str(cfg.data_path()).startswith("/var/lib/")
    acfg = alerts_config(cfg)
    assert {n: c.webhook_env for n, c in acfg.channels.items()} == {
        "alerts": "SLACK_WEBHOOK_URL",
        "security": "SLACK_SECURITY_WEBHOOK_URL",
    }
    assert acfg.dagster_url.startswith("https://")


def test_env_vars_override_the_placeholders():
    env = {
        "MONITOR_SPARK_MASTER": "spark://10.0.0.5:7077",
        "MLFLOW_TRACKING_URI": "http://10.0.0.6:5000",
        "MONITOR_DATA_DIR": "/srv/monitor",
    }
    cfg = load_config(PROD / "pipeline.yaml", env=env)
    assert (cfg.spark.master, cfg.mlflow.tracking_uri, str(cfg.data_path())) == (
        "spark://10.0.0.5:7077",
        "http://10.0.0.6:5000",
        "/srv/monitor",
    )


def test_a_database_password_in_the_tracking_uri_is_never_printed():
    uri = "postgresql+psycopg2://mlflow:hunter2-secret@db.internal:5432/mlflow"
    cfg = load_config(PROD / "pipeline.yaml", env={"MLFLOW_TRACKING_URI": uri})
    assert cfg.mlflow.tracking_uri == uri  # the client gets the real URI ...
    dumped = cfg.model_dump_json()
    assert (
        "hunter2-secret" not in dumped and "mlflow:***@db.internal" in dumped
    )  # ... `monitor-pipeline config` does not


def test_slack_is_on_when_the_webhooks_are_set_and_local_otherwise(tmp_path):
    acfg = alerts_config(load_config(PROD / "pipeline.yaml", env={}))
    on = transports(
        acfg,
        tmp_path,
        env={
            "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x1y2z3",
            "SLACK_SECURITY_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/s1e2c3",
        },
        console=None,
    )
    assert all(isinstance(t, WebhookTransport) for t in on.values()) and set(on) == {"alerts", "security"}
    off = transports(acfg, tmp_path, env={}, console=None)
    assert all(isinstance(t, LocalTransport) for t in off.values())


def _leaves(data: dict, prefix: tuple = ()):
    """Every key path of a YAML mapping down to its lists and values."""
    for k, v in data.items():
        if isinstance(v, dict) and v:
            yield from _leaves(v, (*prefix, k))
        else:
            yield (*prefix, k)


def _at(dumped: dict, path: tuple):
    for k in path:
        if not isinstance(dumped, dict) or k not in dumped:
            return "<unset>"
        dumped = dumped[k]
    return dumped


@pytest.mark.parametrize(
    ("name", "load"), [("pipeline.yaml", lambda p: load_config(p, env={})), ("alerts.yaml", load_alerts_config)]
)
def test_production_files_are_overlays_holding_only_what_differs(name, load):
    raw = yaml.safe_load((PROD / name).read_text())
    assert raw.pop("extends") == f"../{name}"
    prod, base = load(PROD / name).model_dump(mode="json"), load(ROOT / "configs" / name).model_dump(mode="json")
    same = [".".join(path) for path in _leaves(raw) if _at(prod, path) == _at(base, path)]
    assert not same, f"configs/production/{name} repeats what ../{name} says: {same}; delete those keys"
    inherited = [k for k in base if k not in raw]
    assert all(prod[k] == base[k] for k in inherited), "a key the overlay does not set must be the base's"


def test_production_alert_rules_are_the_default_ones():
    prod, default = load_alerts_config(PROD / "alerts.yaml"), load_alerts_config(ROOT / "configs" / "alerts.yaml")
    for part in ("defaults", "rules", "delivery", "no_data", "channels"):
        assert getattr(prod, part) == getattr(default, part), f"configs/production/alerts.yaml `{part}` differs"


def test_dagster_instance_file_is_valid_and_takes_every_connection_setting_from_env(monkeypatch):
    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config_schema

    raw = yaml.safe_load((PROD / "dagster.yaml").read_text())
    db = raw["storage"]["postgres"]["postgres_db"]
    names = {"hostname": "HOST", "port": "PORT", "username": "USER", "password": "PASSWORD", "db_name": "DB"}
    assert {k: db[k] for k in names} == {k: {"env": f"DAGSTER_PG_{v}"} for k, v in names.items()}
    for k, v in PG_ENV.items():
        monkeypatch.setenv(k, v)
    result = process_config(dagster_instance_config_schema(), raw)
    assert result.success, result.errors
    conf = result.value
    assert conf["storage"]["postgres"]["postgres_db"]["password"] == "pg-secret-value"
    assert conf["concurrency"]["runs"]["max_concurrent_runs"] == 1 and conf["telemetry"]["enabled"] is False
    assert "pg-secret-value" not in json.dumps(raw)


@pytest.mark.parametrize("name", ["pipeline.yaml", "alerts.yaml", "dagster.yaml"])
def test_no_secret_is_written_in_the_production_files(name):
    text = (PROD / name).read_text().lower()
    for needle in ("hooks.slack.com/services/", "xoxb-", "aws_secret_access_key:", "password:", "@db"):
        if needle == "password:" and name == "dagster.yaml":
            assert "password: {env: dagster_pg_password}" in text
            continue
        assert needle not in text, f"{name} holds {needle!r}: secrets come from env vars"


def test_the_code_location_loads_with_the_production_config(monkeypatch):
    from monitor_pipeline.definitions import build_definitions

    monkeypatch.delenv("MONITOR_SPARK_MASTER", raising=False)
    defs = build_definitions(str(PROD / "pipeline.yaml"))
    conf = defs.resources["pyspark"].spark_config
    assert conf["spark.master"] == "spark://spark-master:7077" and "spark.driver.bindAddress" not in conf
    assert conf["spark.jars.packages"].startswith("org.apache.hadoop:hadoop-aws:")
    defs.resolve_job_def("ingestion_job")
