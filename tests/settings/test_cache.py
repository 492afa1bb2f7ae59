"""The config is loaded once per process and path, shared by the resources, and read again when a file changes."""

from __future__ import annotations

import os
import time

import pytest
import yaml

import monitor_pipeline.settings.pipeline as pipeline
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.slack import SlackAlertsResource
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.settings import cache, shared_config


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def loads(monkeypatch):
    """The number of times the pipeline config was read and validated."""
    calls = []
    real = pipeline.load_config

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "load_config", counting)
    return calls


def _age(path, seconds: float) -> None:
    """Set the file's mtime `seconds` ago (older than the racy window, so the load may be kept)."""
    t = time.time_ns() - int(seconds * 1e9)
    os.utime(path, ns=(t, t))


def _config(tmp_path, **extra):
    path = tmp_path / "configs" / "pipeline.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "data"), **extra}))
    _age(path, 60)
    return path


def test_loaded_once_per_path_and_env(tmp_path, loads):
    path = _config(tmp_path, engine="duckdb")
    first = shared_config(path, env={})
    assert shared_config(str(path), env={}) is first and shared_config(path.parent / "." / path.name, env={}) is first
    assert len(loads) == 1
    spark = shared_config(path, env={"MONITOR_ENGINE": "spark"})  # another env overlay is another config
    assert spark is not first and spark.engine == "spark" and len(loads) == 2
    assert shared_config(env={"MONITOR_CONFIG": str(path)}) is first and len(loads) == 2


def test_an_edited_file_is_read_again(tmp_path, loads):
    path = _config(tmp_path, engine="duckdb")
    assert shared_config(path, env={}).engine == "duckdb"
    path.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "data"), "engine": "spark"}))
    _age(path, 30)
    assert shared_config(path, env={}).engine == "spark" and len(loads) == 2
    assert shared_config(path, env={}).engine == "spark" and len(loads) == 2


def test_an_edited_base_of_an_overlay_is_read_again(tmp_path, loads):
    base = _config(tmp_path, duckdb={"memory_limit": "1GB"})
    prod = tmp_path / "configs" / "prod" / "pipeline.yaml"
    prod.parent.mkdir()
    prod.write_text("extends: ../pipeline.yaml\nengine: spark\n")
    _age(prod, 60)
    assert shared_config(prod, env={}).duckdb.memory_limit == "1GB"
    base.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "data"), "duckdb": {"memory_limit": "2GB"}}))
    _age(base, 30)
    cfg = shared_config(prod, env={})
    assert (cfg.engine, cfg.duckdb.memory_limit) == ("spark", "2GB") and len(loads) == 2


def test_a_file_written_just_now_is_not_kept(tmp_path, loads):
    """Filesystem mtimes are coarse: a rewrite within the same tick would look unchanged, so a fresh file is re-read."""
    path = _config(tmp_path)
    _age(path, 0)
    shared_config(path, env={})
    shared_config(path, env={})
    assert len(loads) == 2


def test_the_resources_share_one_load(tmp_path, loads):
    path = _config(tmp_path, mlflow={"tracking_uri": "http://mlflow.example:5000", "ui_url": "https://mlflow.example"})
    warehouse, slack = WarehouseResource(config_path=str(path)), SlackAlertsResource(config_path=str(path))
    mlflow = MlflowResource(config_path=str(path))
    for _ in range(3):
        assert warehouse.settings() is slack.settings() is shared_config(path)
        assert mlflow.uri() == "http://mlflow.example:5000"
        assert mlflow._configured()[2] == "https://mlflow.example"
        warehouse.settings().warehouse_path()
    assert len(loads) == 1
    # the data-dir override is a copy: the shared config is left as it was
    assert (
        WarehouseResource(config_path=str(path), data_dir=str(tmp_path / "x")).settings().data_path() == tmp_path / "x"
    )
    assert shared_config(path).data_path() == tmp_path / "data"


def test_the_slack_resource_reads_its_alerts_yaml_once(tmp_path, monkeypatch):
    import monitor_pipeline.resources.slack as slack_module

    alerts = tmp_path / "configs" / "alerts.yaml"
    path = _config(tmp_path, alerting={"config": "configs/alerts.yaml"})
    alerts.write_text("dagster_url: https://one.example\n")
    _age(alerts, 60)
    reads = []
    real = slack_module.alerts_config
    monkeypatch.setattr(slack_module, "alerts_config", lambda cfg: reads.append(cfg) or real(cfg))
    res = SlackAlertsResource(config_path=str(path))
    assert res.alerts() is res.alerts() and res.alerts().dagster_url == "https://one.example" and len(reads) == 1
    alerts.write_text("dagster_url: https://two.example\n")
    _age(alerts, 30)
    assert res.alerts().dagster_url == "https://two.example" and len(reads) == 2
