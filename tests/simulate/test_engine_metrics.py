"""The simulated vLLM /metrics: the pipeline's Prometheus format reads them, they follow the traffic, and the
kv_cache_saturation incident fills the KV cache before the latency regresses."""

from __future__ import annotations

import datetime as dt
import json
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import monitor_pipeline.simulate as sim_pkg
from monitor_pipeline.ingest.formats.prometheus import _SAMPLE, parse_labels
from monitor_pipeline.simulate import engine, simulate
from monitor_pipeline.simulate.traffic import MODELS

DAYS = ("2026-11-17", "2026-11-18")
SERIES_PER_INSTANCE = 3 + 6 + sum(len(b) + 3 for b in engine.HISTOGRAMS.values())


def _parse(path) -> tuple[pd.DataFrame, int]:
    """(one row per sample: metric, instance, le, labels, value, ts in ms; the number of comment lines)."""
    text = path.read_text()
    comments = sum(line.startswith("#") for line in text.splitlines())
    # The pipeline's own sample pattern, matched line by line (all at once: 300k lines a day).
    rows = re.compile(_SAMPLE.pattern, re.MULTILINE).findall(text)
    assert len(rows) + comments == text.count("\n")  # every other line is a sample
    df = pd.DataFrame(rows, columns=["metric", "labels", "value", "ts"])
    assert (df["ts"] != "").all()  # every sample carries its timestamp
    parsed = {text: parse_labels(text) for text in df["labels"].unique()}
    for labels in parsed.values():
        assert labels is not None and set(labels) - {"le"} == {"engine", "instance", "model_name"}
        assert labels["engine"] == "0" and labels["instance"] == engine.instance_name(labels["model_name"])
    df["instance"] = df["labels"].map(lambda t: parsed[t]["instance"])
    df["le"] = df["labels"].map(lambda t: parsed[t].get("le"))
    return df.astype({"value": float, "ts": np.int64}), comments


def _requests(path) -> pd.DataFrame:
    rows = []
    for line in path.read_text().splitlines():
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(r.get("latency_ms"), float | int) and r["latency_ms"] >= 0 and isinstance(r["input_tokens"], int):
            rows.append(r)
    df = pd.DataFrame(rows)
    df["ts"] = pd.to_datetime(df["timestamp"], utc=True)
    return df


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("engine")
    summary = simulate(out, days=2, seed=0, requests_per_day=40_000)
    frames = []
    for day in DAYS:
        df, comments = _parse(out / f"engine-{day}.prom")
        assert comments == 1 and len(df) == SERIES_PER_INSTANCE * len(MODELS) * 1440
        frames.append(df)
    samples = pd.concat(frames, ignore_index=True)
    wide = samples.pivot(index="ts", columns=["metric", "instance", "labels"], values="value").sort_index()
    return out, summary, samples, wide


def _series(wide: pd.DataFrame, metric: str, model: str) -> pd.Series:
    s = wide.xs((metric, engine.instance_name(model)), axis=1, level=["metric", "instance"]).iloc[:, 0]
    return s.set_axis(pd.to_datetime(s.index, unit="ms", utc=True))


def test_files_names_and_scrape_grid(run):
    out, summary, samples, wide = run
    assert [f for f in summary["files"] if f.startswith("engine-")] == [f"engine-{d}.prom" for d in DAYS]
    expected = set(engine.GAUGES) | set(engine.COUNTERS)
    for h in engine.HISTOGRAMS:
        expected |= {f"{h}_bucket", f"{h}_sum", f"{h}_count"}
    assert set(samples["metric"]) == expected
    assert set(samples["instance"]) == {engine.instance_name(m) for m in MODELS}
    t0 = int(dt.datetime(2026, 11, 17, tzinfo=dt.UTC).timestamp() * 1000)
    assert (np.diff(wide.index) == 60_000).all() and wide.index[0] == t0 and len(wide) == 2 * 1440
    assert not wide.isna().any().any()
    les = samples.loc[samples["metric"] == "vllm:time_to_first_token_seconds_bucket", "le"]
    assert {"0.01", "1.0", "10.0", "+Inf"} <= set(les)


def test_counters_only_fall_at_the_one_restart(run):
    _, _, _, wide = run
    cumulative = [c for c in wide.columns if c[0] not in engine.GAUGES]
    falls = wide[cumulative].diff() < 0
    where = {(wide.index[i], cumulative[j][1]) for i, j in zip(*np.nonzero(falls.to_numpy()), strict=True)}
    restart_ts = int(dt.datetime(2026, 11, 17, tzinfo=dt.UTC).timestamp() * 1000) + engine.RESTART[1] * 60_000
    assert where == {(restart_ts, engine.instance_name(engine.RESTART[0]))}
    success = _series(wide, "vllm:request_success_total", engine.RESTART[0])
    assert success.iloc[engine.RESTART[1]] < 100 < success.iloc[engine.RESTART[1] - 1]


def test_histograms_are_cumulative(run):
    _, _, samples, _ = run
    for name in engine.HISTOGRAMS:
        b = samples[samples["metric"] == f"{name}_bucket"].copy()
        b["bound"] = b["le"].astype(float)  # "+Inf" reads as inf
        b = b.sort_values(["instance", "ts", "bound"])
        assert (b.groupby(["instance", "ts"])["value"].diff().dropna() >= 0).all()
        inf = b[b["le"] == "+Inf"].set_index(["instance", "ts"])["value"]
        count = samples[samples["metric"] == f"{name}_count"].set_index(["instance", "ts"])["value"]
        assert inf.sort_index().equals(count.sort_index())


def test_gauges_and_counters_follow_the_traffic(run):
    out, _, _, wide = run
    req = _requests(out / f"requests-{DAYS[0]}.jsonl")
    for model in MODELS:
        kv = _series(wide, "vllm:kv_cache_usage_perc", model)
        day1 = kv[kv.index < pd.Timestamp(DAYS[1], tz="UTC")]
        peak = day1[(day1.index.hour >= 14) & (day1.index.hour < 16)].mean()
        night = day1[(day1.index.hour >= 1) & (day1.index.hour < 5)].mean()
        assert 0.35 < peak < 0.65 and peak > 2.5 * night and kv.between(0, 1).all()
        # Little's law from the request log: seconds of requests started in a minute, over 5 minutes.
        r = req[req["model"] == model]
        busy = (r.set_index("ts")["latency_ms"] / 1000 / 60).resample("1min").sum()
        little = busy.rolling(5).mean().shift(1).reindex(day1.index).dropna()
        running = _series(wide, "vllm:num_requests_running", model).reindex(little.index)
        assert stats.pearsonr(little, running).statistic > 0.7
        # A day's counter increments are that day's requests (day 1: before the restart; a few bad lines lost).
        success = _series(wide, "vllm:request_success_total", model)
        grew = success.iloc[engine.RESTART[1] - 1] - success.iloc[0]
        ok = r[(r["status"] == "ok") & (r["ts"] < pd.Timestamp(f"{DAYS[0]}T04:16", tz="UTC"))]
        assert abs(grew - len(ok)) < 0.02 * len(ok) + 5
        hits = _series(wide, "vllm:prefix_cache_hits_total", model).iloc[-1]
        queries = _series(wide, "vllm:prefix_cache_queries_total", model).iloc[-1]
        assert 0.35 < hits / queries < 0.55


def test_kv_saturation_fills_the_cache_before_latency_regresses(run):
    out, summary, _, wide = run
    inc = next(i for i in summary["incidents"] if i["kind"] == "kv_cache_saturation")
    assert inc == next(i for i in json.loads((out / "incidents.json").read_text()) if i["id"] == "inc-7")
    model, start, end = inc["details"]["model"], pd.Timestamp(inc["start"]), pd.Timestamp(inc["end"])
    assert inc["details"]["instance"] == engine.instance_name(model)
    assert inc["affected"] == [
        f"engine.kv_cache_usage{{model={model}}}",
        f"engine.waiting{{model={model}}}",
        f"engine.ttft_p95_s{{model={model}}}",
        f"requests.latency_p95_ms{{model={model}}}",
    ]
    assert start.isoformat()[:13] == f"{DAYS[1]}T07" and start.minute < 20 and end - start == pd.Timedelta(minutes=90)
    sat = pd.Timestamp(inc["details"]["saturation_at"])
    kv = _series(wide, "vllm:kv_cache_usage_perc", model)
    during = kv[(kv.index >= start) & (kv.index < end)]
    assert during[during >= engine.SATURATED].index[0] == sat
    assert sat - start >= pd.Timedelta(minutes=25) and during.iloc[0] < 0.5
    # A climb over the half hour before, not a jump: each third of it above the one before.
    thirds = [part.mean() for part in np.array_split(during[during.index < sat].to_numpy(), 3)]
    assert thirds[0] < thirds[1] < thirds[2] and thirds[2] > 1.5 * thirds[0]
    assert during[during.index >= sat + pd.Timedelta(minutes=5)].min() > 0.95  # full until the traffic stops
    waiting = _series(wide, "vllm:num_requests_waiting", model)
    assert (waiting[(waiting.index >= start) & (waiting.index < sat)] == 0).all()
    assert waiting[(waiting.index >= sat) & (waiting.index < end)].mean() > 0
    preempted = _series(wide, "vllm:num_preemptions_total", model)
    assert preempted[sat - pd.Timedelta(minutes=1)] == preempted[start] < preempted[end]

    req = _requests(out / f"requests-{DAYS[1]}.jsonl")
    ok = req[(req["model"] == model) & (req["status"] == "ok")]

    def p95(a: pd.Timestamp, b: pd.Timestamp) -> float:
        return ok[(ok["ts"] >= a) & (ok["ts"] < b)]["latency_ms"].quantile(0.95)

    quarter = pd.Timedelta(minutes=15)
    before = p95(start - quarter, start)
    assert p95(sat - quarter, sat) < 1.3 * before
    assert p95(sat, sat + quarter) >= 1.8 * before
    # The agent framework's prompts grew steadily from the incident's start.
    inside = ok[(ok["ts"] >= start) & (ok["ts"] < sat)]
    assert inside["input_tokens"].tail(100).median() > 2 * ok[ok["ts"] < start]["input_tokens"].median()


def test_engine_and_kv_incident_leave_the_rest_alone(tmp_path, monkeypatch):
    """Without the engine's scrapes and without the kv incident, every other byte is the same: the engine draws nothing
    from the days' generators; the incident moves no other incident, changes only its model's requests in its span."""
    simulate(tmp_path / "full", days=1, seed=0, requests_per_day=5000)
    schedule = sim_pkg.schedule
    monkeypatch.setattr(sim_pkg, "schedule", lambda *a: [i for i in schedule(*a) if i.kind != "kv_cache_saturation"])
    monkeypatch.setattr(engine.Engines, "day_text", lambda self, day, cols: "")
    simulate(tmp_path / "bare", days=1, seed=0, requests_per_day=5000)
    full, bare = tmp_path / "full", tmp_path / "bare"
    requests = f"requests-{DAYS[0]}.jsonl"
    for f in sorted(p.name for p in full.iterdir()):
        if f not in ("incidents.json", requests, f"engine-{DAYS[0]}.prom"):
            assert (full / f).read_bytes() == (bare / f).read_bytes(), f
    incidents = json.loads((full / "incidents.json").read_text())
    assert incidents[:6] == json.loads((bare / "incidents.json").read_text()) and incidents[6]["id"] == "inc-7"
    kv = incidents[6]
    changed = 0
    lines = zip((full / requests).read_text().splitlines(), (bare / requests).read_text().splitlines(), strict=True)
    for a, b in lines:
        if a != b:
            changed += 1
            stamp = a.split('"timestamp": "')[1][:19]
            assert f'"model": "{kv["details"]["model"]}"' in a and kv["start"][:19] <= stamp < kv["end"][:19]
    assert changed > 20
