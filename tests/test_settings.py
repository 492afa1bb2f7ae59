"""Config loading: validation errors name the file, the key and the allowed values; env overlays apply."""

from __future__ import annotations

import pytest

from monitor_pipeline.errors import ConfigError
from monitor_pipeline.settings import DEFAULT_CONFIG, load_config


def test_default_config_loads():
    cfg = load_config(DEFAULT_CONFIG, env={})
    assert cfg.engine == "duckdb"
    assert {s.name for s in cfg.sources} == {"gateway", "gpu_samples", "vllm_metrics", "seed_online", "seed_offline"}
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
    cfg = load_config(
        path,
        env={
            "MONITOR_ENGINE": "spark",
            "MONITOR_SPARK_MASTER": "spark://h:7077",
            "MONITOR_DATA_DIR": str(tmp_path / "elsewhere"),
        },
    )
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


@pytest.mark.parametrize("value", ["512MB", "1GB", "1.5GiB", "4 GB", "2gib", "80%", "100%", "16MB", "1TB"])
def test_memory_limit_takes_what_duckdb_takes(write_config, value):
    import duckdb

    cfg = load_config(write_config([], duckdb={"memory_limit": value}), env={})
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{cfg.duckdb.memory_limit}'")  # DuckDB agrees the accepted form is valid
    con.close()


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("1 gigglebyte", "must be a size like 512MB, 4GB or 1.5GiB"),  # DuckDB: unknown unit
        ("1024", "must be a size like"),  # DuckDB: no unit
        ("lots", "must be a size like"),
        ("150%", "at most 100%"),  # DuckDB: unable to parse valid percentage
        ("0%", "above 0%"),
        ("1KB", "at least 16MB"),  # DuckDB takes it, then fails the first query: Out of Memory
    ],
)
def test_bad_memory_limit_names_key_and_allowed_forms(write_config, capsys, value, why):
    from monitor_pipeline.cli import main

    path = write_config([], duckdb={"memory_limit": value})
    assert main(["--config", str(path), "config"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"monitor-pipeline: error: {path}: key `duckdb.memory_limit`: ")
    assert why in err and f"(got {value!r})" in err and "\n" not in err


def test_threads_at_least_one_and_lock_timeout_not_negative(write_config):
    with pytest.raises(ConfigError, match=r"key `duckdb.threads`: must be at least 1; leave it out .* \(got 0\)"):
        load_config(write_config([], duckdb={"threads": 0}), env={})
    with pytest.raises(ConfigError, match=r"key `duckdb.lock_timeout_s`: .*greater than or equal to 0 \(got -1\)"):
        load_config(write_config([], duckdb={"lock_timeout_s": -1}), env={})
    cfg = load_config(write_config([], duckdb={"threads": 2}), env={})
    assert cfg.duckdb.threads == 2 and cfg.duckdb.lock_timeout_s == 120


def test_rules_file_must_exist_relative_to_the_project_root(write_config, tmp_path, capsys):
    from monitor_pipeline.cli import main
    from monitor_pipeline.security.store import rules_path

    path = write_config([], security={"rules_file": "configs/rulez.yaml"})
    assert main(["--config", str(path), "config"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"monitor-pipeline: error: {path}: key `security.rules_file`: rules file not found: "
        f"{tmp_path / 'configs' / 'rulez.yaml'} (a relative path is taken from {tmp_path}) "
        "(got 'configs/rulez.yaml')"
    )
    with pytest.raises(ConfigError, match=r"key `security.rules_file`: rules file not found: /nowhere/r.yaml \("):
        load_config(write_config([], security={"rules_file": "/nowhere/r.yaml"}), env={})
    (tmp_path / "configs" / "rulez.yaml").write_text("rules: []\n")
    cfg = load_config(write_config([], security={"rules_file": "configs/rulez.yaml"}), env={})
    # the file the check found is the one the scan and the security asset read
    assert cfg.security.rules_path(cfg.root) == rules_path(cfg) == tmp_path / "configs" / "rulez.yaml"


@pytest.mark.parametrize(
    "source,key,why",
    [
        ({"fields": {"tokens_in": "usage.prompt_tokens"}}, "sources.0.fields", "unknown column(s) tokens_in"),
        ({"fields": {"model": "response..model"}}, "sources.0.fields", "malformed JSON path"),
        ({"time": {"timezone": "Mars/Olympus"}}, "sources.0.time.timezone", "unknown time zone"),
        ({"time": {"origin": "2023-05-01T00:00:00"}}, "sources.0.time.origin", "needs an offset"),
        ({"time": {"format": "epoch_minutes"}}, "sources.0.time.format", "unknown time format"),
        ({"time": {"format": "%Y-%m-%d %Q"}}, "sources.0.time.format", "no Spark equivalent"),
        ({"time": {"scraped_at": "yesterday"}}, "sources.0.time.scraped_at", "neither `mtime` nor an ISO time"),
        ({"unmapped": "drop"}, "sources.0.unmapped", "'warn', 'keep' or 'ignore'"),
    ],
)
def test_source_mapping_errors_name_file_and_key(write_config, source, key, why):
    path = write_config([{"name": "gw", "paths": ["x.jsonl"], **source}])
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert str(path) in str(exc.value) and key in str(exc.value) and why in str(exc.value), str(exc.value)


def test_source_mapping_becomes_read_options(write_config):
    path = write_config(
        [
            {
                "name": "gw",
                "paths": ["x.csv"],
                "fields": {"input_tokens": "Request tokens"},
                "time": {"field": "Timestamp", "origin": "2023-05-01T00:00:00Z", "timezone": "UTC"},
                "constants": {"model": "gpt-4o-mini"},
                "unmapped": "keep",
            }
        ]
    )
    opts = load_config(path).sources[0].read_options()
    assert dict(opts.fields) == {"input_tokens": "Request tokens", "timestamp": "Timestamp"}
    assert dict(opts.constants) == {"model": "gpt-4o-mini"} and opts.unmapped == "keep"
    assert (opts.time.origin, opts.time.timezone) == ("2023-05-01T00:00:00+00:00", "UTC")
