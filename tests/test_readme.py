"""README examples stay true: the config example runs, the CLI example prints what it says."""

from __future__ import annotations

import json
import re
import shutil

import dagster as dg
import yaml
from paths import ROOT, SAMPLES

from monitor_pipeline.cli import main
from monitor_pipeline.definitions import build_definitions
from monitor_pipeline.settings import load_config

README = (ROOT / "README.md").read_text()


def _config_example() -> str:
    block = README.split("<!-- readme-config-example -->", 1)[1]
    return re.search(r"```yaml\n(.*?)```", block, re.S).group(1)


def test_config_example_runs(tmp_path):
    text = _config_example().replace("/var/log/", f"{tmp_path}/log/").replace("/var/lib/", f"{tmp_path}/lib/")
    (tmp_path / "log" / "llm-gateway").mkdir(parents=True)
    (tmp_path / "log" / "gpu").mkdir(parents=True)
    shutil.copy(SAMPLES / "requests.jsonl", tmp_path / "log" / "llm-gateway" / "requests-2026-11-20.jsonl")
    shutil.copy(SAMPLES / "nvidia_smi.csv", tmp_path / "log" / "gpu" / "node1.csv")
    cfg_path = tmp_path / "configs" / "pipeline.yaml"
    cfg_path.parent.mkdir()
    cfg_path.write_text(text)
    cfg = load_config(cfg_path, env={})
    assert [s.name for s in cfg.sources] == ["gateway", "gpus"]
    defs = build_definitions(str(cfg_path))
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("ingestion_job").execute_in_process(partition_key="2026-11-20", instance=instance)
    assert result.success
    meta = {m.asset_key.to_user_string(): m.metadata for m in result.asset_materializations_for_node("ingestion")}
    assert meta["clean_requests"]["clean"].value > 0
    assert meta["resource_samples"]["dagster/row_count"].value > 0
    assert (tmp_path / "lib" / "monitor_pipeline" / "warehouse.duckdb").exists()


def test_cli_example_matches(tmp_path, capsys):
    line = next(ln for ln in README.splitlines() if ln.startswith('# {"read"'))
    expected = json.loads(line[2:].replace("{...}", "{}").replace("...", "0"))
    assert main(["ingest", str(SAMPLES / "requests.jsonl"), "--data-dir", str(tmp_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["read"], out["clean"], out["quarantined"]) == (
        expected["read"],
        expected["clean"],
        expected["quarantined"],
    )


def test_config_reference_covers_every_key():
    from monitor_pipeline.settings import PipelineConfig

    def keys(model, prefix=""):
        for name, f in model.model_fields.items():
            if f.exclude:
                continue
            ann = f.annotation
            if isinstance(ann, type) and hasattr(ann, "model_fields"):
                yield from keys(ann, f"{prefix}{name}.")
            elif name == "sources":
                from monitor_pipeline.settings import SourceConfig

                yield from (f"sources[].{k}" for k in SourceConfig.model_fields)
            else:
                yield prefix + name

    missing = [k for k in keys(PipelineConfig) if f"`{k}`" not in README]
    assert not missing, f"README configuration reference lacks {missing}"
    assert yaml.safe_load(_config_example())["engine"] == "duckdb"


def test_every_cli_line_in_readme_parses():
    import shlex

    from monitor_pipeline.cli.app import _parser

    lines = [
        ln.split("#")[0].strip() for ln in README.splitlines() if ln.strip().startswith(".venv/bin/monitor-pipeline")
    ]
    assert len(lines) >= 5
    for ln in lines:
        lex = shlex.shlex(ln, posix=True, punctuation_chars=True)
        lex.whitespace_split = True
        words = list(lex)
        cut = next((i for i, w in enumerate(words) if w in {"|", ">", ">>", "<", "&&", "||", ";", "&"}), len(words))
        _parser().parse_args(words[1:cut])  # the command's own words: a pipe or redirection is the shell's


def test_quiet_scenario_from_readme(tmp_path, capsys):
    assert "simulate --out /tmp/quiet --days 3 --no-incidents" in README
    assert main(["simulate", "--out", str(tmp_path), "--days", "1", "--requests-per-day", "500", "--no-incidents"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["incidents"] == [] and (tmp_path / "incidents.json").read_text().strip() == "[]"


def test_mapping_example_reads_the_real_files(tmp_path):
    """The three sources of "Point it at your own logs", with their config as written, read the real files."""
    import datetime as dt

    import duckdb

    from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
    from monitor_pipeline.ingest.request import build_request
    from monitor_pipeline.settings import PipelineConfig

    block = README.split("<!-- readme-mapping-example -->", 1)[1]
    text = re.search(r"```yaml\n(.*?)```", block, re.S).group(1).replace("tests/data/real/", f"{ROOT}/tests/data/real/")
    cfg = PipelineConfig(**yaml.safe_load(text))
    counts = {}
    for src in cfg.sources:
        db = tmp_path / f"{src.name}.duckdb"
        request = build_request(
            src.paths,
            src.format,
            source=src.name,
            options=src.read_options(),
            now=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        )
        result = DuckDBEngine(db).ingest(request)
        counts[src.name] = (result.clean, result.quarantined)
        con = duckdb.connect(str(db), read_only=True)
        if src.name == "batch_jobs":
            extra = json.loads(con.execute("SELECT extra FROM requests WHERE request_id = 'request-0'").fetchone()[0])
            assert extra["id"] == "batch_req_671997dbd05c8190b8253393e04fd23f" and not result.warnings
        if src.name == "burstgpt":
            assert con.execute("SELECT min(timestamp), max(client_ip) FROM requests").fetchone() == (
                dt.datetime(2023, 5, 1, 0, 0, 5, tzinfo=dt.UTC),
                "azure-openai",
            )
        if src.name == "h100_node":  # 2026/07/14 08:12:53.353 in Berlin (UTC+2 in July)
            assert con.execute("SELECT timestamp FROM resources").fetchone() == (
                dt.datetime(2026, 7, 14, 6, 12, 53, 353000, tzinfo=dt.UTC),
            )
    assert counts == {"batch_jobs": (40, 0), "burstgpt": (3, 0), "h100_node": (1, 0)}
