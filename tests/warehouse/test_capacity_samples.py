"""capacity_samples: each GPU's memory share and each engine instance's KV-cache usage of a time range, nothing else."""

import datetime as dt
import json

import duckdb

from monitor_pipeline.warehouse.live import capacity_samples

T0 = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)


def test_gpu_shares_and_kv_gauges_of_the_range_only():
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE resources (timestamp TIMESTAMPTZ, host VARCHAR, device VARCHAR, gpu_mem_used_mb DOUBLE, "
        "gpu_mem_total_mb DOUBLE)"
    )
    con.execute("CREATE TABLE gauges (timestamp TIMESTAMPTZ, metric VARCHAR, labels VARCHAR, value DOUBLE)")
    labels = json.dumps({"model_name": "llama", "pod": "p1"}, sort_keys=True)
    for i in range(6):
        t = T0 + dt.timedelta(minutes=i)
        con.execute("INSERT INTO resources VALUES (?, 'n1', 'gpu0', ?, 80000)", [t, 40000 + 1000 * i])
        con.execute("INSERT INTO resources VALUES (?, 'n1', 'cpu', NULL, NULL)", [t])  # a host row: no GPU memory
        con.execute("INSERT INTO gauges VALUES (?, 'vllm:gpu_cache_usage_perc', ?, ?)", [t, labels, 0.1 * i])
        con.execute("INSERT INTO gauges VALUES (?, 'vllm:num_requests_waiting', ?, 3)", [t, labels])
    got = capacity_samples(con, T0, T0 + dt.timedelta(minutes=4))  # (10:00, 10:04]: four samples of each
    gpu = got[got["metric"] == "gpu_memory"]
    kv = got[got["metric"] == "kv_cache_usage"]
    assert len(got) == 8 and set(gpu["device"]) == {"gpu0"} and gpu["value"].tolist() == [0.5125, 0.525, 0.5375, 0.55]
    assert set(zip(kv["host"], kv["device"], kv["instance"], strict=True)) == {("vllm", "llama", "p1")}
    assert kv["value"].round(3).tolist() == [0.1, 0.2, 0.3, 0.4]


def test_an_empty_warehouse_has_no_samples():
    assert capacity_samples(duckdb.connect(), T0, T0 + dt.timedelta(minutes=5)).empty


def test_real_nvidia_smi_captures_are_one_sample_each_and_no_trend(tmp_path):
    # Real `nvidia-smi --query-gpu` captures (tests/data/real, licences in its README): one row each, no host column.
    from monitor_pipeline.forecast.live_trend import TrendSettings, live_trends
    from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
    from monitor_pipeline.ingest.request import build_request
    from tests.paths import ROOT

    for name, share in (("nvidia_smi_h100", 19818 / 81559), ("nvidia_smi_l40s", 1235 / 46068)):
        db = tmp_path / f"{name}.duckdb"
        DuckDBEngine(db).ingest(build_request([str(ROOT / "tests" / "data" / "real" / f"{name}.csv")], "auto"))
        con = duckdb.connect(str(db), read_only=True)
        got = capacity_samples(con, dt.datetime(2000, 1, 1, tzinfo=dt.UTC), dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
        assert got["metric"].tolist() == ["gpu_memory"] and abs(got["value"].iloc[0] - share) < 1e-9
        assert got["host"].tolist() == [""] and got["device"].tolist() == ["gpu0"]  # `hostname` is [N/A] there
        thresholds = {"gpu_memory": ("resource.time_to_threshold", 0.9)}
        assert live_trends(got, thresholds, got["timestamp"].iloc[0].to_pydatetime(), TrendSettings()) == []


def test_a_hostile_host_name_reaches_slack_escaped():
    # A host label nobody here wrote (a Slack mention and markup) through the trend's title into the Block Kit payload.
    import numpy as np
    import pandas as pd

    from monitor_pipeline.alerts.model import Alert
    from monitor_pipeline.alerts.slack import blocks
    from monitor_pipeline.forecast.live_trend import TrendSettings, live_trends

    host = "<!channel> <script>alert(1)</script>"
    ts = [T0 + dt.timedelta(seconds=10 * i) for i in range(31)]
    samples = pd.DataFrame(
        {"timestamp": ts, "host": host, "device": "gpu0", "metric": "gpu_memory", "value": 0.6 + 0.004 * np.arange(31)}
    )
    (trend,) = live_trends(samples, {"gpu_memory": ("resource.time_to_threshold", 0.9)}, ts[-1], TrendSettings())
    f = trend.finding(TrendSettings(), "2026-12-07", None)
    alert = Alert(f.key, "firing", f.rule, f.entity, f.severity, "firing", f.title, T0, f.value, f.threshold)
    payload = json.dumps(blocks(alert))
    assert host in f.title and "<!channel>" not in payload and "<script>" not in payload
    assert "&lt;!channel&gt;" in payload


T_PAST = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)  # in the past: a sample from the future is quarantined


def _ingest_leaking_capture(tmp_path, hostname: str | None = None, extra: str = "") -> duckdb.DuckDBPyConnection:
    """Ten minutes of `nvidia-smi --query-gpu=... --format=csv -l 10` (with `hostname` when given): flat at 60 %, then
    two points a minute from minute 5; `extra` lines go in the middle. Ingested by the DuckDB engine; read-only."""
    from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
    from monitor_pipeline.ingest.request import build_request

    lines = ["timestamp, index, memory.used [MiB], memory.total [MiB]" + (", hostname" if hostname is not None else "")]
    for i in range(60):
        used = 0.60 + 0.02 * max(0, i - 30) / 6
        when = f"{T_PAST + dt.timedelta(seconds=10 * i):%Y/%m/%d %H:%M:%S.000}"
        host = "" if hostname is None else ", " + json.dumps(hostname)  # quoted: a CSV field may hold commas
        lines.append(f"{when}, 0, {used * 81559:.0f} MiB, 81559 MiB{host}")
        if i == 20 and extra:
            lines.append(extra)
    path = tmp_path / "gpu.csv"
    path.write_text("\n".join(lines) + "\n")
    db = tmp_path / "w.duckdb"
    DuckDBEngine(db).ingest(build_request([str(path)], "auto"))
    return duckdb.connect(str(db), read_only=True)


def test_a_capture_without_hostnames_is_keyed_like_the_hourly_forecast(tmp_path):
    """A bare `nvidia-smi --query-gpu=timestamp,index,memory.used,memory.total --format=csv -l 10` names no host: the
    live climb is keyed and titled by its device alone, as the capacity forecast's windows key it (one alert thread)."""
    from monitor_pipeline.forecast.live_trend import TrendSettings, live_trends
    from monitor_pipeline.warehouse.forecasting import read_gpu_windows

    t0 = T_PAST
    con = _ingest_leaking_capture(tmp_path)
    now = t0 + dt.timedelta(minutes=10)
    got = capacity_samples(con, t0 - dt.timedelta(minutes=1), now)
    assert len(got) == 60 and set(got["host"]) == {""} and set(got["device"]) == {"gpu0"}
    (trend,) = live_trends(got, {"gpu_memory": ("resource.time_to_threshold", 0.9)}, now, TrendSettings())
    windows = read_gpu_windows(con, t0, now)
    assert {f"{h}:{d}:gpu_memory" for h, d in zip(windows["host"], windows["device"], strict=True)} == {trend.entity}
    assert trend.entity == ":gpu0:gpu_memory" and trend.title.startswith("gpu0 GPU memory ")
    assert "rising 2.0 points/min" in trend.title


def test_a_hostile_hostname_and_a_huge_broken_line_through_ingest_to_slack(tmp_path):
    """The hostname field of the capture holds a Slack mention and markup, and a 200 kB line with no fields sits in
    the middle: the line is quarantined, the climb still found, and the name reaches Slack's payload escaped."""
    from monitor_pipeline.alerts.model import Alert
    from monitor_pipeline.alerts.slack import blocks
    from monitor_pipeline.forecast.live_trend import TrendSettings, live_trends

    host = "<!channel> <script>alert(1)</script> *bold*"
    con = _ingest_leaking_capture(tmp_path, hostname=host, extra="\u202e" + "x" * 200_000)
    assert con.execute("SELECT count(*) FROM quarantine").fetchall()[0][0] == 1
    now = T_PAST + dt.timedelta(minutes=10)
    got = capacity_samples(con, T_PAST - dt.timedelta(minutes=1), now)
    assert len(got) == 60 and set(got["host"]) == {host}
    (trend,) = live_trends(got, {"gpu_memory": ("resource.time_to_threshold", 0.9)}, now, TrendSettings())
    f = trend.finding(TrendSettings(), "2026-11-30", None)
    alert = Alert(f.key, "firing", f.rule, f.entity, f.severity, "firing", f.title, now, f.value, f.threshold)
    payload = json.dumps(blocks(alert))
    assert f.title.startswith(host + "/gpu0 GPU memory") and "<!channel>" not in payload and "<script>" not in payload
    assert "&lt;!channel&gt;" in payload
