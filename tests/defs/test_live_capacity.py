"""live_capacity in a micro-batch: a GPU whose memory climbs is a finding within minutes; its neighbour is not."""

import datetime as dt
import json
import sqlite3

import dagster as dg

from monitor_pipeline.definitions import build_definitions
from monitor_pipeline.defs.live.assets import AS_OF_TAG

DAY = dt.date.today() - dt.timedelta(days=2)
AT = dt.datetime.combine(DAY, dt.time(10, 30), dt.UTC)


def sample(t: dt.datetime, device: str, used: float) -> str:
    return json.dumps(
        {
            "timestamp": t.isoformat(),
            "host": "node-1",
            "device": device,
            "gpu_mem_used_mb": used,
            "gpu_mem_total_mb": 80000,
        }
    )


def test_a_climbing_gpu_is_a_live_capacity_finding(write_config, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    out = []
    for i in range(60):  # ten minutes of 10-s samples up to AT; gpu0 leaks from minute 7 on, gpu1 stays flat
        t = AT - dt.timedelta(seconds=10 * (59 - i))
        leak = max(0, i - 42) * 450.0
        out += [sample(t, "gpu0", 56000 + (i % 3) * 50 + leak), sample(t, "gpu1", 56000 + (i % 3) * 50)]
    (logs / f"resources-{DAY}.jsonl").write_text("\n".join(out) + "\n")
    cfg = write_config(
        [{"name": "gpus", "paths": [str(logs / "resources-{date}.jsonl")], "format": "resources_jsonl", "live": True}]
    )
    job = build_definitions(str(cfg)).resolve_job_def("live_job")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance, tags={AS_OF_TAG: AT.isoformat()}, raise_on_error=False)
    assert result.success
    mats = {e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()}
    meta = mats["live_capacity"]
    assert meta["series_watched"].value == 2 and meta["heading_for_threshold"].value == 1
    con = sqlite3.connect(tmp_path / "data" / "findings.db")
    try:
        rows = con.execute("SELECT source, rule, entity, severity, title FROM findings").fetchall()
    finally:
        con.close()
    assert [r[:3] for r in rows] == [("live_capacity", "resource.time_to_threshold", "node-1:gpu0:gpu_memory")]
    assert "node-1/gpu0 GPU memory" in rows[0][4] and "reaches 90.0%" in rows[0][4]
