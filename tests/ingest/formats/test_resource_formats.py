"""nvidia-smi CSV and Prometheus scrapes: units stripped, N/A kept as null, bad lines kept with a reason."""

from __future__ import annotations

import json
import os

import duckdb
import pyarrow as pa
from paths import SAMPLES

from monitor_pipeline.ingest.engines.dialect import DUCKDB
from monitor_pipeline.ingest.formats.nvidia_smi import parse_nvidia_smi
from monitor_pipeline.ingest.formats.options import ReadOptions, TimeSpec
from monitor_pipeline.ingest.formats.prometheus import gauges_to_resources_sql, parse_labels, parse_prometheus

NO_OPTIONS = ReadOptions()


def _rows(tables, records_only: bool = True):
    rows = pa.concat_tables(list(tables)).to_pylist()
    return [r for r in rows if r["skip"] is None] if records_only else rows


def test_nvidia_smi_units_na_repeated_header_and_bad_lines(tmp_path):
    p = tmp_path / "smi.csv"
    p.write_bytes(
        b"timestamp, name, index, utilization.gpu [%], memory.used [MiB], memory.total [MiB], power.draw [W]\n"
        b"2024/05/01 12:00:00.123, NVIDIA A100, 0, 35 %, 1234 MiB, 81920 MiB, [N/A]\n"
        b"timestamp, name, index, utilization.gpu [%], memory.used [MiB], memory.total [MiB], power.draw [W]\n"
        b"2024/05/01 12:00:01.000, NVIDIA A100, 1, 40 %, 2 GiB, 81920 MiB, 210.50 W\n"
        b"2024/05/01 12:00:02.000, NVIDIA A100, 1, 40 %\n"
        b"\xff\xfe\n"
        b"2024/05/01 12:00:03.000, NVIDIA A100, 0, 1 %, 1 MiB, 81920 MiB, 5 W"
    )
    every = _rows(parse_nvidia_smi(p, "smi.csv", NO_OPTIONS), records_only=False)
    assert [(r["line_no"], r["skip"]) for r in every][:3] == [(1, "header"), (2, None), (3, "header")]
    rows = [r for r in every if r["skip"] is None]
    assert [r["line_no"] for r in rows] == [2, 4, 5, 6, 7]
    first, second = rows[0], rows[1]
    assert (
        first["f_timestamp"],
        first["f_device"],
        first["f_gpu_util_pct"],
        first["f_gpu_mem_used_mb"],
        first["f_power_w"],
    ) == ("2024-05-01 12:00:00.123", "gpu0", "35", "1234", None)
    assert second["f_gpu_mem_used_mb"] == "2048.0" and second["f_power_w"] == "210.50"
    assert "expected 7 fields" in rows[2]["parse_error"]
    assert rows[3]["text"] is None and rows[3]["parse_error"] == "not valid UTF-8"
    assert rows[4]["last_no_newline"] and rows[4]["parse_error"] is None


def test_nvidia_smi_nounits_header(tmp_path):
    p = tmp_path / "smi.csv"
    p.write_text("timestamp, index, utilization.gpu, memory.used\n2024/05/01 12:00:00, 3, 7, 100\n")
    (row,) = _rows(parse_nvidia_smi(p, "x", NO_OPTIONS))
    assert (row["f_device"], row["f_gpu_util_pct"], row["f_gpu_mem_used_mb"]) == ("gpu3", "7", "100")


def test_prometheus_samples_labels_and_scrape_time(tmp_path):
    p = tmp_path / "m.prom"
    p.write_text(
        '# HELP x help\n# TYPE x gauge\nx{b="2",a="q\\"uote"} 1.5\n\nvllm:num_requests_running 3 1700000000000\n'
        'broken line here\nup{a="1" 1\n'
    )
    os.utime(p, (1700000000, 1700000000))
    every = _rows(parse_prometheus(p, "m.prom", NO_OPTIONS), records_only=False)
    assert [(r["line_no"], r["skip"]) for r in every] == [
        (1, "comment"),
        (2, "comment"),
        (3, None),
        (4, "blank"),
        (5, None),
        (6, None),
        (7, None),
    ]
    rows = [r for r in every if r["skip"] is None]
    assert rows[0]["f_labels"] == '{"a":"q\\"uote","b":"2"}' and rows[0]["f_value"] == "1.5"
    # A sample without a timestamp is not dated by the file: it has no time unless the source says when it was scraped.
    assert rows[0]["f_timestamp"] is None
    mtime = _rows(parse_prometheus(p, "m.prom", ReadOptions(time=TimeSpec(scraped_at="mtime"))))
    assert mtime[0]["f_timestamp"].startswith("2023-11-14T22:13:20")
    at = _rows(parse_prometheus(p, "m.prom", ReadOptions(time=TimeSpec(scraped_at="2025-03-01T12:00:00+00:00"))))
    assert at[0]["f_timestamp"] == "2025-03-01T12:00:00+00:00"
    assert rows[1]["f_metric"] == "vllm:num_requests_running" and rows[1]["f_timestamp"] == "1700000000000"
    assert rows[2]["parse_error"].startswith("not a sample line") and rows[3]["parse_error"]
    assert parse_labels('a="1",b="x,y"') == {"a": "1", "b": "x,y"} and parse_labels("a=1") is None


def test_sample_scrape_parses_and_pivots(tmp_path):
    rows = _rows(parse_prometheus(SAMPLES / "dcgm_metrics.prom", "dcgm", NO_OPTIONS))
    assert rows and all(r["parse_error"] is None for r in rows)
    gauges = pa.table(
        {
            "timestamp": [r["f_timestamp"] for r in rows],
            "metric": [r["f_metric"] for r in rows],
            "labels": [r["f_labels"] for r in rows],
            "value": [float(r["f_value"]) for r in rows],
            "partition_date": ["2026-11-20"] * len(rows),
        }
    )
    con = duckdb.connect()
    con.register("gauges", gauges)
    out = con.execute(
        f"SELECT host, device, gpu_util_pct, gpu_mem_used_mb, gpu_mem_total_mb, power_w FROM "
        f"({gauges_to_resources_sql(DUCKDB, 'gauges')}) ORDER BY device"
    ).fetchall()
    assert out == [
        ("gpu-node-1", "gpu0", 71.0, 61234.0, 81920.0, 312.4),
        ("gpu-node-1", "gpu1", 64.0, 58871.0, 81920.0, 297.9),
    ]
    assert json.loads(rows[0]["f_labels"])["Hostname"] == "gpu-node-1"


def test_sample_nvidia_smi_parses_cleanly():
    rows = _rows(parse_nvidia_smi(SAMPLES / "nvidia_smi.csv", "smi", NO_OPTIONS))
    assert len(rows) == 288 and all(r["parse_error"] is None for r in rows)
