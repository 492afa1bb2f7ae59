"""The simulator: realistic shape, labeled incidents visible in the data, same seed same bytes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from paths import SHARED_DATA
from scipy import stats

from monitor_pipeline.simulate import simulate
from monitor_pipeline.simulate.text import luhn_number
from monitor_pipeline.simulate.traffic import token_quantiles

AZURE = SHARED_DATA / "azure-llm-inference-2023"


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    summary = simulate(out, days=2, seed=3, requests_per_day=20_000)
    frames = []
    for day in summary["days"]:
        for line in (out / f"requests-{day['day']}.jsonl").read_text().splitlines():
            try:
                frames.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    df = pd.DataFrame(frames)
    for c in ("input_tokens", "output_tokens", "latency_ms"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    parsed = len(df)
    df = df[(df["input_tokens"].notna()) & (df["latency_ms"] >= 0)].copy()  # the deliberately bad lines
    df["ts"] = pd.to_datetime(df["timestamp"], utc=True)
    summary["parsed"] = parsed
    return out, summary, df


def _digest(d):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir())}


def test_same_seed_same_bytes(tmp_path):
    simulate(tmp_path / "a", days=1, seed=7, requests_per_day=3000)
    simulate(tmp_path / "b", days=1, seed=7, requests_per_day=3000)
    simulate(tmp_path / "c", days=1, seed=8, requests_per_day=3000)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b") != _digest(tmp_path / "c")
    assert "engine-2026-11-17.prom" in _digest(tmp_path / "a")  # the engine's scrapes too


def test_files_and_columns(sim):
    out, summary, df = sim
    assert {p.name for p in out.iterdir()} == {
        "requests-2026-11-17.jsonl",
        "requests-2026-11-18.jsonl",
        "resources-2026-11-17.jsonl",
        "resources-2026-11-18.jsonl",
        "engine-2026-11-17.prom",
        "engine-2026-11-18.prom",
        "online.log",
        "offline.log",
        "incidents.json",
    }
    assert {
        "timestamp",
        "request_id",
        "model",
        "user_id",
        "client_ip",
        "operation",
        "input_tokens",
        "output_tokens",
        "latency_ms",
        "ttft_ms",
        "status",
        "http_status",
        "prompt",
        "batch_size",
    } <= set(df.columns)
    assert df["model"].nunique() == 3 and df["user_id"].nunique() > 300
    assert summary["bad_lines"] > 0 and len(df) == summary["requests"] - summary["bad_lines"]
    assert summary["parsed"] > len(df)  # two of the three bad kinds are valid JSON with bad values
    cls = df[df["operation"] == "classify"]
    assert 0.85 < (cls["prediction"] == cls["label"]).mean() < 0.95
    assert (df["ttft_ms"] <= df["latency_ms"]).all()
    first = out / "online.log"
    assert len(first.read_text().split("\n")[0].split()) == 4


def test_diurnal_shape_and_latency_grows_with_tokens(sim):
    _, _, df = sim
    day1 = df[df["ts"].dt.date == dt.date(2026, 11, 17)]
    hours = day1["ts"].dt.hour.value_counts().sort_index()
    assert hours.loc[14:16].mean() > 2.5 * hours.loc[[1, 2, 3, 4]].mean()
    ok = day1[day1["status"] == "ok"]
    assert stats.spearmanr(ok["output_tokens"], ok["latency_ms"]).statistic > 0.6


def test_incidents_are_visible(sim):
    out, summary, df = sim
    inc = {i["kind"]: i for i in json.loads((out / "incidents.json").read_text())}
    assert set(inc) == {
        "latency_regression",
        "error_burst",
        "traffic_spike",
        "abusive_user",
        "gpu_memory_leak",
        "prompt_length_drift",
        "kv_cache_saturation",
    }
    spans = sorted(
        (i["start"], i["end"]) for k, i in inc.items() if k not in ("gpu_memory_leak", "prompt_length_drift")
    )
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))

    def inside(kind):
        i = inc[kind]
        return (df["ts"] >= pd.Timestamp(i["start"])) & (df["ts"] < pd.Timestamp(i["end"]))

    lr = inc["latency_regression"]
    m = df["model"] == lr["details"]["model"]
    assert df[m & inside("latency_regression")]["latency_ms"].quantile(0.95) > 1.8 * df[
        m & ~inside("latency_regression") & (df["status"] == "ok")
    ]["latency_ms"].quantile(0.95)
    assert (df[inside("error_burst")]["status"] == "error").mean() > 0.15
    per_min = df.set_index("ts").resample("1min").size()
    spike = per_min[
        (per_min.index >= pd.Timestamp(inc["traffic_spike"]["start"]))
        & (per_min.index < pd.Timestamp(inc["traffic_spike"]["end"]))
    ]
    same_hour_day1 = per_min[
        (per_min.index >= pd.Timestamp(inc["traffic_spike"]["start"]) - pd.Timedelta(days=1))
        & (per_min.index < pd.Timestamp(inc["traffic_spike"]["end"]) - pd.Timedelta(days=1))
    ]
    assert spike.mean() > 2.5 * same_hour_day1.mean()
    ab = df[df["user_id"] == inc["abusive_user"]["details"]["user_id"]]
    assert len(ab) > 1000 and ab["prompt"].str.contains("Ignore previous instructions").any()
    cards = ab["prompt"].str.extract(r"(\d{16})")[0].dropna()
    assert len(cards) and all(luhn_number_ok(c) for c in cards)
    drift = inside("prompt_length_drift")
    assert df[drift]["input_tokens"].median() > 2 * df[~drift]["input_tokens"].median()
    leak = inc["gpu_memory_leak"]["details"]
    res = pd.read_json(out / f"resources-{inc['gpu_memory_leak']['start'][:10]}.jsonl", lines=True)
    r = res[(res["host"] == leak["host"]) & (res["device"] == leak["device"])].set_index("timestamp")["gpu_mem_used_mb"]
    start, end = pd.Timestamp(inc["gpu_memory_leak"]["start"]), pd.Timestamp(inc["gpu_memory_leak"]["end"])
    during = r[(r.index >= start) & (r.index < end)]
    assert during.iloc[-30:].mean() > 0.9 * 81920 and during.iloc[:30].mean() < 0.85 * 81920


def luhn_number_ok(number: str) -> bool:
    total = 0
    for i, d in enumerate(int(c) for c in reversed(number)):
        total += sum(divmod(d * 2, 10)) if i % 2 else d
    return total % 10 == 0


def test_luhn_generator():
    rng = np.random.default_rng(0)
    assert all(luhn_number_ok(luhn_number(rng)) for _ in range(50))


@pytest.mark.parametrize("kind", ["conv", "code"])
def test_tokens_match_azure(sim, kind):
    _, _, df = sim
    op = {"conv": "chat", "code": "completion"}[kind]
    ours = df[(df["operation"] == op) & (df["ts"].dt.date == dt.date(2026, 11, 17))]["input_tokens"]
    q = token_quantiles()[kind]["input_tokens"]
    ref = np.interp(np.random.default_rng(1).random(20000), token_quantiles()["q"], q)
    assert stats.ks_2samp(ours, ref).statistic < 0.05
    real = AZURE / f"AzureLLMInferenceTrace_{kind}.csv"
    if real.exists():
        assert stats.ks_2samp(ours, pd.read_csv(real)["ContextTokens"]).statistic < 0.1


def test_a_busier_service_has_more_users_not_busier_ones():
    # At 40 times the demo's volume the busiest user sends about what the demo's busiest user sends per request
    # share of a copy (so absolute per-user limits mean the same), and no regular user takes the abuser's id.
    from monitor_pipeline.simulate.traffic import USERS, population, request_columns

    ts = np.sort(np.random.default_rng(0).random(400_000) * 86400)
    load = np.ones(len(ts))
    small = request_columns(np.random.default_rng(1), ts[:10_000], load[:10_000], [], population(100_000))
    big = request_columns(np.random.default_rng(1), ts, load, [], population(4_000_000))
    assert population(100_000) == USERS and population(4_000_000) == 40 * USERS
    top_small = pd.Series(small["user_id"]).value_counts().iloc[0]
    top_big = pd.Series(big["user_id"]).value_counts().iloc[0]
    assert 0.8 < top_big / top_small < 1.25  # the same per-user volume, 40 times the total
    assert pd.Series(big["user_id"]).nunique() > 30 * USERS
    assert "user-9999" not in set(big["user_id"]) and "user-10000" in set(big["user_id"])
