"""Config overlays: `extends:` deep-merges a file over the one it names; errors name the file that set the key."""

from __future__ import annotations

import pytest
import yaml

from monitor_pipeline.alerts.config import load_alerts_config
from monitor_pipeline.errors import ConfigError
from monitor_pipeline.settings import load_config
from monitor_pipeline.settings.files import deep_merge, read_config


def _write(path, data) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return str(path)


@pytest.fixture
def base(tmp_path):
    """A base pipeline config in tmp/configs/ with two sources, and the folder for an overlay beside it."""
    return _write(
        tmp_path / "configs" / "pipeline.yaml",
        {
            "data_dir": str(tmp_path / "data"),
            "engine": "duckdb",
            "duckdb": {"memory_limit": "1GB", "threads": 2},
            "spark": {"master": "local[*]", "conf": {"spark.a": "1", "spark.b": "2"}},
            "sources": [{"name": "a", "paths": ["a.jsonl"]}, {"name": "b", "paths": ["b.jsonl"]}],
        },
    )


def test_mappings_merge_lists_and_scalars_replace():
    base = {"a": {"x": 1, "y": {"p": 1, "q": 2}}, "l": [1, 2, 3], "s": "base", "n": 5, "m": {"k": 1}}
    over = {"a": {"y": {"q": 3}, "z": 4}, "l": [9], "s": None, "m": 7, "new": {"k": 2}}
    assert deep_merge(base, over) == {
        "a": {"x": 1, "y": {"p": 1, "q": 3}, "z": 4},
        "l": [9],
        "s": None,
        "n": 5,
        "m": 7,
        "new": {"k": 2},
    }
    assert base["a"]["y"] == {"p": 1, "q": 2}  # the inputs are left as they were


def test_an_overlay_holds_only_what_differs(base, tmp_path):
    prod = _write(
        tmp_path / "configs" / "prod" / "pipeline.yaml",
        {
            "extends": "../pipeline.yaml",
            "engine": "spark",
            "duckdb": {"memory_limit": "4GB"},
            "spark": {"conf": {"spark.b": "20", "spark.c": "3"}},
            "sources": [{"name": "c", "paths": ["s3a://x/c.jsonl"]}],
        },
    )
    cfg = load_config(prod, env={})
    assert cfg.engine == "spark" and cfg.data_path() == tmp_path / "data"  # set here / inherited
    assert (cfg.duckdb.memory_limit, cfg.duckdb.threads) == ("4GB", 2)  # a mapping merges key by key
    assert cfg.spark.master == "local[*]" and cfg.spark.conf == {"spark.a": "1", "spark.b": "20", "spark.c": "3"}
    assert [s.name for s in cfg.sources] == ["c"]  # a list replaces
    assert (
        cfg.root == tmp_path / "configs" / "prod"
    )  # relative paths: from the overlay's folder (its parent is not configs/)
    env = load_config(prod, env={"MONITOR_ENGINE": "duckdb", "MONITOR_SPARK_MASTER": "spark://h:7077"})
    assert (env.engine, env.spark.master) == ("duckdb", "spark://h:7077")  # env overlays still come last


def test_overlays_chain_and_null_replaces(base, tmp_path):
    _write(
        tmp_path / "configs" / "mid.yaml",
        {"extends": "pipeline.yaml", "spark": {"output": "s3a://bucket/out"}, "duckdb": {"threads": 4}},
    )
    top = _write(
        tmp_path / "configs" / "top.yaml",
        {"extends": str(tmp_path / "configs" / "mid.yaml"), "duckdb": {"threads": None}},
    )
    cfg = load_config(top, env={})
    assert cfg.spark.output == "s3a://bucket/out" and cfg.duckdb.threads is None and cfg.duckdb.memory_limit == "1GB"
    assert [p.name for p, _ in read_config(tmp_path / "configs" / "top.yaml", "missing").layers] == [
        "top.yaml",
        "mid.yaml",
        "pipeline.yaml",
    ]


def test_errors_name_the_file_that_set_the_key(base, tmp_path):
    prod = _write(
        tmp_path / "configs" / "prod" / "pipeline.yaml",
        {"extends": "../pipeline.yaml", "enginee": "spark", "duckdb": {"threads": 0}},
    )
    with pytest.raises(ConfigError) as exc:
        load_config(prod, env={})
    assert f"{prod}: unknown key `enginee`" in str(exc.value)
    assert f"{prod}: key `duckdb.threads`: must be at least 1" in str(exc.value)
    # a bad value the overlay inherits names the base, and the overlay that extends it
    _write(tmp_path / "configs" / "pipeline.yaml", {"engine": "sprak", "sources": [{"name": "a", "paths": ["a"]}] * 2})
    _write(tmp_path / "configs" / "prod" / "pipeline.yaml", {"extends": "../pipeline.yaml", "data_dir": "/d"})
    with pytest.raises(ConfigError) as exc:
        load_config(prod, env={})
    assert str(exc.value).startswith(f"{tmp_path / 'configs' / 'pipeline.yaml'} (extended by {prod}): key `engine`: ")
    _write(tmp_path / "configs" / "pipeline.yaml", {"sources": [{"name": "a", "paths": ["a"]}] * 2})
    with pytest.raises(ConfigError, match=r"pipeline.yaml \(extended by .*\): key `sources`: .* repeated: a"):
        load_config(prod, env={})


@pytest.mark.parametrize(
    "extends,why",
    [
        ("../nope.yaml", "file not found (named by `extends` in"),
        ("pipeline.yaml", "leads back to a file already in the chain"),
        (["../pipeline.yaml"], "must be the path of the YAML file this one overlays"),
        ("", "must be the path of the YAML file this one overlays"),
    ],
)
def test_a_bad_extends_is_named(base, tmp_path, extends, why):
    prod = _write(tmp_path / "configs" / "prod" / "pipeline.yaml", {"extends": extends, "engine": "spark"})
    with pytest.raises(ConfigError) as exc:
        load_config(prod, env={})
    assert why in str(exc.value) and str(prod) in str(exc.value), str(exc.value)


def test_the_alerts_config_takes_overlays_too(tmp_path):
    _write(
        tmp_path / "alerts.yaml",
        {
            "channels": {"alerts": {"slack_channel": "#a"}, "sec": {"slack_channel": "#s"}},
            "rules": [{"match": "security*", "channels": ["sec"]}],
            "delivery": {"max_attempts": 3, "timeout_s": 5},
        },
    )
    prod = _write(
        tmp_path / "prod" / "alerts.yaml",
        "extends: ../alerts.yaml\n"
        "channels: {sec: {webhook_env: SEC_HOOK}}\n"
        "delivery: {timeout_s: 20}\ndagster_url: https://dagster.example\n",
    )
    acfg = load_alerts_config(prod)
    assert (acfg.channels["sec"].slack_channel, acfg.channels["sec"].webhook_env) == ("#s", "SEC_HOOK")
    assert (acfg.delivery.max_attempts, acfg.delivery.timeout_s) == (3, 20) and acfg.rules[0].channels == ["sec"]
    assert acfg.dagster_url == "https://dagster.example"
    _write(tmp_path / "prod" / "alerts.yaml", "extends: ../alerts.yaml\ndelivery: {timeout_s: -1}\n")
    with pytest.raises(ConfigError, match=r"prod/alerts.yaml: key `delivery.timeout_s`: "):
        load_alerts_config(prod)
