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
