"""bench/load.py: hour slices rebuild the simulated files, the goal hour is one retimed hour, and a toy replay's JSON."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import _replay as replay  # noqa: E402


def test_parse_hours():
    assert replay.parse_hours("0-2,12") == [0, 1, 2, 12]
    assert replay.parse_hours("23") == [23]
    for bad in ("24", "a-3", "5-", ""):
        with pytest.raises(SystemExit):
            replay.parse_hours(bad)


def test_hour_slices_rebuild_every_file(tmp_path):
    sim, summary, index = replay.simulated(tmp_path / "cache", 2, 600, 3, dt.date(2026, 11, 17))
    live = tmp_path / "live"
    live.mkdir()
    appended = 0
    for day in summary["days"]:
        for h in range(24):
            before = {n: (live / n).stat().st_size if (live / n).exists() else 0 for n in index}
            appended += replay.append_hour(sim, index, live, day["day"], h)
            for name in (n for n in index if (live / n).exists()):  # every line added now is of this day and hour
                with open(live / name, "rb") as fh:
                    fh.seek(before[name])
                    for line in fh.read().splitlines():
                        m = replay.STAMP.search(line[:64])
                        assert m is None or (m.group(1).decode(), int(m.group(2))) == (day["day"], h), (name, line[:60])
    assert appended == summary["requests"]
    for name in index:
        assert (live / name).read_bytes() == (sim / name).read_bytes(), name
    # The cache is reused: a second call does not simulate again.
    stamp = (sim / "bench-index.json").stat().st_mtime_ns
    assert replay.simulated(tmp_path / "cache", 2, 600, 3, dt.date(2026, 11, 17))[2] == index
    assert (sim / "bench-index.json").stat().st_mtime_ns == stamp


def test_hour_index_refuses_unsorted_logs(tmp_path):
    f = tmp_path / "x.log"
    f.write_text("2026-11-17 05:00:00 1 1.0\n2026-11-17 04:00:00 1 1.0\n")
    with pytest.raises(SystemExit, match="x.log:2: hour"):
        replay.hour_index(f)


def test_goal_hour_is_one_retimed_hour(tmp_path):
    live = tmp_path / "live"
    live.mkdir()
    day = dt.date(2026, 11, 20)
    path = replay.goal_hour(tmp_path / "cache", live, 1500, 0, day)
    lines = path.read_text().splitlines()
    assert len(lines) == 1500
    stamps = [x[15:39] for x in lines]
    assert all(s.startswith("2026-11-20T00:") for s in stamps) and stamps == sorted(stamps)
    assert stamps[0] == "2026-11-20T00:00:00.000Z" and stamps[-1] >= "2026-11-20T00:59"
    ids = [json.loads(x)["request_id"] for x in lines if x.endswith("}")]
    assert len(ids) > 1400 and all(i.startswith("goal-") for i in ids) and len(set(ids)) == len(ids)
    res = (live / "resources-2026-11-20.jsonl").read_text().splitlines()
    assert len(res) == 6 * 360 and all(json.loads(x)["timestamp"].startswith("2026-11-20T00:") for x in res)
    assert all(x.startswith("2026-11-20 00:") for x in (live / "online.log").read_text().splitlines())


@pytest.mark.slow
def test_toy_replay_prints_runs_days_goal_and_summary(tmp_path):
    env = {**os.environ, "DAGSTER_DISABLE_TELEMETRY": "1", "MLFLOW_DISABLE_TELEMETRY": "true"}
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "load.py"),
            "--days",
            "1",
            "--requests-per-day",
            "2000",
            "--hours",
            "23",
            "--goal-rate",
            "0.5",
            "--workdir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    kinds = [x["kind"] for x in lines]
    assert kinds == ["simulated", "run", "run", "run", "day", "goal", "summary"]
    runs = [x for x in lines if x["kind"] == "run"]
    assert [(r["job"], r["tick"], r["partition"]) for r in runs] == [
        ("ingestion_job", "hourly", "2026-11-17"),
        ("anomaly_job", "hourly", "2026-11-17"),
        ("forecasting_job", "daily_retraining", "2026-11-18"),
    ]
    assert all(r["success"] and r["seconds"] > 0 and r["peak_rss_mb"] > 0 and r["steps"] for r in runs)
    assert {"ingestion", "drift_report", "security_findings"} <= set(runs[0]["steps"])
    # The day's request lines were all appended; the clean ones are at most that many (bad lines are quarantined).
    assert 0 < runs[0]["requests_in_partition"] <= runs[0]["requests_so_far"] <= runs[0]["lines_read"]
    day, goal, summary = lines[4], lines[5], lines[6]
    assert day["store_growth_bytes"]["total"] == sum(v for k, v in day["store_growth_bytes"].items() if k != "total")
    assert all(day["store_bytes"][k] > 0 for k in ("warehouse", "mlflow", "findings", "dagster"))
    assert goal["requests"] == 1800 and goal["success"] and goal["runs"][0]["requests_in_partition"] > 1700
    assert set(goal) >= {"seconds", "goal_s", "met", "baseline_duckdb_read_s", "store_growth_bytes", "peak_rss_mb"}
    assert summary["runs"] == 3 and summary["failed_runs"] == 0 and summary["goal"] == goal
    assert summary["store_bytes"] == day["store_bytes"] and summary["extrapolated_full"]["extrapolated"] is True
