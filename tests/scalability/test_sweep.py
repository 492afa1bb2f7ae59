"""Sweeps of real targets, kept tiny: the LSTM forecaster, the MiniLM encoder, an OpenAI-compatible loopback endpoint."""

from __future__ import annotations

import json
import threading
import time

import pytest

from monitor_pipeline.cli import main
from monitor_pipeline.errors import ConfigError
from monitor_pipeline.scalability.report import run_benchmark, to_json
from monitor_pipeline.scalability.sweep import robust_rel_sd
from monitor_pipeline.scalability.targets import build_targets
from monitor_pipeline.settings import ScalabilityConfig
from tests.openai_server import free_port, openai_server

TINY = {"warmup": 1, "min_repetitions": 3, "max_repetitions": 4, "max_seconds_per_point": 2.0, "threads": 1}


def _endpoint_cfg(url: str, **kw) -> ScalabilityConfig:
    base = {
        "concurrency": [1, 2, 4],
        "requests_per_repetition": 4,
        "max_requests_per_level": 24,
        "reference_batch": 2,
        "slo_p95_ms": 1000,
    }
    return ScalabilityConfig(target="openai", base_url=url, model="m", **base | TINY | kw)


def test_endpoint_target_against_the_loopback_server():
    with openai_server(lambda p: time.sleep(0.002) or "a b c") as srv:
        b = run_benchmark(_endpoint_cfg(srv["base_url"]))
    assert b.status == "success" and b.device == "remote"
    p = b.result.points
    assert (
        list(p["x"]) == [1, 2, 4]
        and (p["tokens_per_s"] > 0).all()
        and (p["latency_ms_p95"] >= p["latency_ms_p50"]).all()
    )
    assert srv["max_in_flight"] <= 4
    # bounded: per level, warm-up and repetitions together never pass max_requests_per_level
    assert srv["requests"] <= 3 * 24 and (p["reps"] >= 3).all()
    s = b.analysis["endpoint"]
    assert s["reference_x"] == 2 and s["axis"] == "concurrency" and s["slo_safe"] == 4 and s["slo_limited_by_range"]
    assert s["fits"]["latency_ms_p95"]["status"] == "ok" and s["fits"]["throughput"]["r2"] is not None


def test_endpoint_failing_mid_sweep_gives_a_partial_result():
    served = {"n": 0}
    lock = threading.Lock()

    def flaky(prompt: str) -> str | int:
        with lock:
            served["n"] += 1
            return "ok" if served["n"] <= 20 else 500  # the first level (1 warm-up + up to 4 reps of 4) is fine

    with openai_server(flaky) as srv:
        b = run_benchmark(_endpoint_cfg(srv["base_url"], concurrency=[1, 2, 4, 8, 16]))
    assert b.status == "failed" and not b.result.complete
    p = b.result.points
    assert p["error"].isna().sum() == 1 and "HTTP 500" in p["error"].dropna().iloc[0]
    assert any("stopped after 2 failed points in a row; 2 not measured" in e for e in b.result.errors)
    s = b.analysis["endpoint"]
    assert s["status"] == "too_few_points" and s["points_failed"] == 2
    out = to_json(b)
    assert out["status"] == "failed" and out["errors"] and json.dumps(out)  # still one JSON object, no NaN


def test_unreachable_endpoint_is_recorded_not_raised():
    b = run_benchmark(_endpoint_cfg(f"http://127.0.0.1:{free_port()}/v1", timeout_s=2))
    assert (
        b.status == "failed"
        and "ConnectError" in b.result.errors[0]
        and b.analysis["endpoint"]["status"] == "no_points"
    )


def test_lstm_inference_and_training_sweeps():
    cfg = ScalabilityConfig(
        target="lstm",
        device="cpu",
        batch_sizes=[1, 4, 16],
        lengths=[8, 16],
        reference_length=8,
        reference_batch=4,
        train_samples=[101, 150, 200],
        hidden_sizes=[8],
        train_epochs=1,
        **TINY,
    )
    b = run_benchmark(cfg)
    assert b.status == "success", b.result.errors
    p = b.result.points
    assert set(p["sweep"]) == {"lstm_inference", "lstm_training"} and len(p) == 6 + 3
    assert (p["rss_peak_mb"] > 50).all() and (p["rss_delta_mb"] >= 0).all() and p["gpu_mem_allocated_mb"].isna().all()
    inf, train = b.analysis["lstm_inference"], b.analysis["lstm_training"]
    assert inf["reference_series"] == 8 and "length=16" in inf["by_series"] and "slo_safe" in inf
    assert train["axis"] == "train_samples" and train["reference_x"] == 200 and "slo_safe" not in train
    assert (p.loc[p["sweep"] == "lstm_training", "throughput"] > 0).all()


@pytest.mark.slow
def test_minilm_encoder_tiny_sweep():
    cfg = ScalabilityConfig(batch_sizes=[1, 2, 4], lengths=[8], reference_length=8, reference_batch=2, **TINY)
    b = run_benchmark(cfg)
    assert b.status == "success", b.result.errors
    p = b.result.points
    assert list(p["tokens_per_s"] / p["throughput"]) == pytest.approx(
        [8.0] * 3
    )  # 8 tokens per text, [CLS]/[SEP] included
    assert b.analysis["minilm_inference"]["fits"]["latency_ms_p50"]["n"] == 3


def test_config_errors_name_the_key():
    with pytest.raises(ConfigError, match=r"scalability.lengths: \[300\]"):
        build_targets(ScalabilityConfig(lengths=[300]))
    with pytest.raises(ConfigError, match="scalability.base_url"):
        build_targets(ScalabilityConfig(target="openai"))
    with pytest.raises(ConfigError, match="scalability.train_samples"):
        build_targets(ScalabilityConfig(target="lstm", train_samples=[50]))


def test_robust_spread():
    assert robust_rel_sd([10, 10, 10]) == 0.0 and robust_rel_sd([9, 10, 11, 100]) == pytest.approx(
        1.4826 * 1 / 10.5, 0.01
    )


def test_cli_prints_one_json_object(capsys, write_config):
    cfg = write_config([], scalability={"slo_p95_ms": 1000, **TINY})
    with openai_server(lambda p: "x y") as srv:
        rc = main(["--config", str(cfg), "benchmark", "--target", srv["base_url"], "--quick"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["quick"] and out["status"] == "success" and out["target"].startswith("openai:default@")
    assert {"points", "fits", "summary", "slo_safe_batch", "knee", "throughput_ref"} <= set(out)
    assert out["summary"]["endpoint"]["r2"]["throughput"] is not None and len(out["points"]) == 4


def test_cli_rejects_a_target_that_is_neither_local_nor_a_url(capsys):
    assert main(["benchmark", "--target", "localhost:8000"]) == 2
    err = capsys.readouterr().err
    assert "--target 'localhost:8000'" in err and "http(s)://" in err and "Traceback" not in err
