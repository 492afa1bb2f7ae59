"""Exit codes CI can gate on: 0 ok, 1 a check failed (probe drop, demo --strict), 2 usage/input, 3 bug, 130 Ctrl-C."""

from __future__ import annotations

import json
import subprocess
import sys

import dagster as dg
import pytest
from paths import ROOT

from monitor_pipeline.cli import main
from monitor_pipeline.cli.common import CHECK_FAILED, INTERNAL_ERROR, INTERRUPTED, OK, USAGE_ERROR
from tests.openai_server import openai_server

LABELS = {"billing": "money", "shipping": "parcels"}


def _golden(tmp_path, n: int = 20):
    """A probe set of `n` label probes, half billing and half shipping."""
    folder = tmp_path / "golden" / "intents"
    folder.mkdir(parents=True)
    (folder / "set.yaml").write_text(
        json.dumps({"name": "intents", "labels": LABELS, "prompt": "{labels}: {input}"})  # JSON is YAML
    )
    probes = [
        {"id": f"p{i}", "input": f"message {i}", "expected": "billing" if i % 2 else "shipping", "scorer": "label"}
        for i in range(n)
    ]
    (folder / "v1.jsonl").write_text("".join(json.dumps(p) + "\n" for p in probes))
    return tmp_path / "golden"


def _answer(wrong: int):
    """A chat target that gets every probe right except the first `wrong` (by probe number)."""

    def answer(prompt: str) -> str:
        i = int(prompt.rsplit(" ", 1)[1])
        right = "billing" if i % 2 else "shipping"
        return ("shipping" if right == "billing" else "billing") if i < wrong else right

    return answer


def _probe(cfg, url: str, *extra: str, capsys) -> tuple[int, list[dict]]:
    rc = main(["--config", str(cfg), "probe", "--target", url, "--model", "m", *extra])
    return rc, [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.fixture
def probe_config(write_config, tmp_path):
    return write_config([], probes={"golden_dir": str(_golden(tmp_path)), "sets": ["intents"]})


def test_probe_exits_1_on_a_significant_drop_against_a_saved_baseline(probe_config, tmp_path, capsys):
    with openai_server(_answer(wrong=0)) as good:
        rc, lines = _probe(probe_config, good["base_url"], "--baseline", "none", capsys=capsys)
    assert rc == OK and lines[0]["pass_rate"] == 1.0 and lines[0]["baseline"] is None
    saved = tmp_path / "baseline.jsonl"
    saved.write_text("".join(json.dumps(x) + "\n" for x in lines))

    with openai_server(_answer(wrong=10)) as worse:  # 50% against 100%: p far below probes.alpha 0.05
        rc, lines = _probe(probe_config, worse["base_url"], "--baseline", str(saved), capsys=capsys)
    assert rc == CHECK_FAILED
    assert lines[0]["significant_drop"] is True and lines[0]["pass_rate"] == 0.5
    assert lines[0]["baseline"]["passed"] == 20 and lines[0]["p_value_vs_baseline"] < 0.05

    with openai_server(_answer(wrong=1)) as slightly:  # 95% against 100%: not significant with 20 probes
        rc, lines = _probe(probe_config, slightly["base_url"], "--baseline", str(saved), capsys=capsys)
    assert rc == OK and lines[0]["significant_drop"] is False and lines[0]["p_value_vs_baseline"] > 0.05


def test_probe_without_a_recorded_run_exits_0_and_creates_no_store(probe_config, tmp_path, capsys):
    with openai_server(_answer(wrong=15)) as srv:  # a bad target, but nothing to compare with
        rc, lines = _probe(probe_config, srv["base_url"], "--failures", capsys=capsys)
    assert rc == OK and lines[0]["baseline"] is None and lines[0]["significant_drop"] is False
    assert len([x for x in lines if "failed" in x]) == 15
    assert not (tmp_path / "data" / "mlflow.db").exists()


def test_probe_bad_baseline_file_is_a_usage_error(probe_config, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    with openai_server(_answer(wrong=0)) as srv:
        assert main(["--config", str(probe_config), "probe", "--target", srv["base_url"], "--baseline", str(bad)]) == 2
        assert "bad.jsonl:1: not a JSON line" in capsys.readouterr().err
        missing = tmp_path / "missing.jsonl"
        rc = main(["--config", str(probe_config), "probe", "--target", srv["base_url"], "--baseline", str(missing)])
    assert rc == USAGE_ERROR and "missing.jsonl" in capsys.readouterr().err


def _fake_demo(critical: list[str]):
    def run_demo(config_path=None, days=3, requests_per_day=100_000, seed=0, out=print, progress=None):
        out("the report")
        if progress:
            progress(1, 1)
        return {"days": {}, "forecasting": {}, "probes": None, "seconds": 1.0, "critical_failures": critical}

    return run_demo


@pytest.mark.parametrize(
    ("critical", "argv", "code"),
    [
        (["ingestion 2026-11-17: requests_schema"], ["demo", "--strict"], CHECK_FAILED),
        (["ingestion 2026-11-17: requests_schema"], ["demo"], OK),
        ([], ["demo", "--strict"], OK),
    ],
)
def test_demo_strict_exits_1_when_a_critical_check_failed(monkeypatch, capsys, critical, argv, code):
    import monitor_pipeline.demo

    monkeypatch.setattr(monitor_pipeline.demo, "run_demo", _fake_demo(critical))
    assert main(argv) == code
    captured = capsys.readouterr()
    assert "the report" in captured.out
    assert ("requests_schema" in captured.err) == bool(critical)


def test_demo_json_prints_one_summary_line_and_the_report_on_stderr(monkeypatch, capsys):
    import monitor_pipeline.demo

    monkeypatch.setattr(monitor_pipeline.demo, "run_demo", _fake_demo(["probes: golden_pass_rate_no_significant_drop"]))
    assert main(["demo", "--json", "--strict"]) == CHECK_FAILED
    captured = capsys.readouterr()
    [line] = captured.out.splitlines()
    assert json.loads(line)["critical_failures"] == ["probes: golden_pass_rate_no_significant_drop"]
    assert "the report" in captured.err


def test_critical_failures_are_the_failed_error_severity_checks():
    from monitor_pipeline.demo import critical_failures

    @dg.asset(
        check_specs=[
            dg.AssetCheckSpec("critical_fails", asset="thing"),
            dg.AssetCheckSpec("warning_fails", asset="thing"),
            dg.AssetCheckSpec("critical_passes", asset="thing"),
        ]
    )
    def thing():
        yield dg.MaterializeResult()
        yield dg.AssetCheckResult(check_name="critical_fails", passed=False, severity=dg.AssetCheckSeverity.ERROR)
        yield dg.AssetCheckResult(check_name="warning_fails", passed=False, severity=dg.AssetCheckSeverity.WARN)
        yield dg.AssetCheckResult(check_name="critical_passes", passed=True, severity=dg.AssetCheckSeverity.ERROR)

    with dg.instance_for_test() as instance:
        result = dg.materialize([thing], instance=instance)
    assert critical_failures(result) == ["critical_fails"]


def test_a_bug_exits_3_with_its_traceback(monkeypatch, capsys):
    import monitor_pipeline.cli.ingest as ingest

    def boom(args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(ingest, "run", boom)
    assert main(["ingest", "x.jsonl"]) == INTERNAL_ERROR
    err = capsys.readouterr().err
    assert "Traceback" in err and "internal error: ZeroDivisionError" in err


def test_ctrl_c_exits_130(monkeypatch):
    import monitor_pipeline.cli.ingest as ingest

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(ingest, "run", interrupted)
    assert main(["ingest", "x.jsonl"]) == INTERRUPTED


def test_bad_arguments_exit_2():
    p = subprocess.run(
        [sys.executable, "-m", "monitor_pipeline.cli", "demo", "--days", "three"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert p.returncode == USAGE_ERROR and "invalid int value: 'three'" in p.stderr and not p.stdout


@pytest.mark.slow  # MLflow creates its SQLite store: about 20 s
def test_probe_compares_with_the_run_recorded_in_mlflow_by_default(probe_config, tmp_path, capsys):
    from mlflow.tracking import MlflowClient

    from monitor_pipeline.tracking.store import tracking_uri_for

    wrong = {"n": 0}
    with openai_server(lambda prompt: _answer(wrong["n"])(prompt)) as srv:
        rc, lines = _probe(probe_config, srv["base_url"], capsys=capsys)
        assert rc == OK and lines[0]["baseline"] is None  # no store yet
        # What the quality_probes asset records for this set, version and target.
        client = MlflowClient(tracking_uri_for(tmp_path / "data"))
        run = client.create_run(client.create_experiment("monitor_pipeline/quality_probes"))
        run_id = run.info.run_id
        for key, value in (("probe.set", "intents"), ("probe.version", "v1"), ("probe.target", lines[0]["target"])):
            client.set_tag(run_id, key, value)
        client.log_metric(run_id, "passed", 20)
        client.log_metric(run_id, "total", 20)
        client.set_terminated(run_id)
        wrong["n"] = 10
        rc, lines = _probe(probe_config, srv["base_url"], capsys=capsys)
    assert rc == CHECK_FAILED and lines[0]["significant_drop"] is True
    assert lines[0]["baseline"] == {"passed": 20, "total": 20, "from": f"mlflow:{run_id}"}
