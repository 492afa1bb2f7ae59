"""Config loading: validation errors name the file, the key and the allowed values; env overlays apply."""

from __future__ import annotations

import pytest

from monitor_pipeline.lib.errors import ConfigError
from monitor_pipeline.settings import DEFAULT_CONFIG, load_config


def test_default_config_loads():
    cfg = load_config(DEFAULT_CONFIG, env={})
    assert cfg.engine == "duckdb"
    assert {s.name for s in cfg.sources} == {"gateway", "gpu_samples", "seed_online", "seed_offline"}
    assert cfg.warehouse_path().name == "warehouse.duckdb"


def test_unknown_key_is_named(write_config):
    path = write_config([], enginee="duckdb")
    with pytest.raises(ConfigError) as exc:
        load_config(path, env={})
    assert str(path) in str(exc.value) and "unknown key `enginee`" in str(exc.value)


def test_bad_engine_lists_allowed_values(write_config):
    path = write_config([], engine="sprak")
    with pytest.raises(ConfigError) as exc:
        load_config(path, env={})
    msg = str(exc.value)
    assert "key `engine`" in msg and "'duckdb'" in msg and "'spark'" in msg and "sprak" in msg


def test_unknown_format_names_source_index(write_config):
    path = write_config([{"name": "a", "paths": ["x"], "format": "yaml"}])
    with pytest.raises(ConfigError) as exc:
        load_config(path, env={})
    assert "sources.0.format" in str(exc.value) and "jsonl" in str(exc.value)


def test_duplicate_source_names(write_config):
    path = write_config([{"name": "a", "paths": ["x"]}, {"name": "a", "paths": ["y"]}])
    with pytest.raises(ConfigError, match="repeated: a"):
        load_config(path, env={})


def test_env_overlays(write_config, tmp_path):
    path = write_config([])
    cfg = load_config(path, env={"MONITOR_ENGINE": "spark", "MONITOR_SPARK_MASTER": "spark://h:7077",
                                 "MONITOR_DATA_DIR": str(tmp_path / "elsewhere")})
    assert cfg.engine == "spark" and cfg.spark.master == "spark://h:7077"
    assert cfg.data_path() == tmp_path / "elsewhere"


def test_relative_paths_from_project_root(write_config, tmp_path):
    path = write_config([{"name": "a", "paths": ["logs/a.jsonl", "hdfs://nn/x.jsonl"]}])
    cfg = load_config(path, env={})
    assert cfg.source_paths(cfg.sources[0]) == [str(tmp_path / "logs/a.jsonl"), "hdfs://nn/x.jsonl"]


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml", env={})
    bad = tmp_path / "bad.yaml"
    bad.write_text("engine: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad, env={})
