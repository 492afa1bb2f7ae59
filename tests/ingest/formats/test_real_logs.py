"""Real public log files (tests/data/real, sources and licenses in its README): read right, or refused with a reason.

Expected values are worked out by hand from the files; the comment beside each says from which line.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest
from paths import ROOT

from monitor_pipeline.errors import InputError
from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
from monitor_pipeline.ingest.formats import detect_format
from monitor_pipeline.ingest.formats.options import ReadOptions, TimeSpec
from monitor_pipeline.ingest.request import build_request

REAL = ROOT / "tests" / "data" / "real"
MADE_UP = ROOT / "tests" / "data" / "made_up"
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def _ingest(tmp_path, path, fmt="auto", options=None, strict=True):
    db = tmp_path / "w.duckdb"
    result = DuckDBEngine(db).ingest(build_request([str(path)], fmt, now=NOW, options=options, strict=strict))
    return result, duckdb.connect(str(db), read_only=True)


def _accounted(result) -> None:
    s = result.summary()  # raises when read != clean + quarantined + skipped + other days
    assert s["read"] == sum(f["lines"] for f in s["files"].values())


def test_openai_batch_output(tmp_path):
    path = REAL / "openai_batch_output.jsonl"
    assert detect_format(path) == "openai_batch"
    result, con = _ingest(tmp_path, path)
    _accounted(result)
    assert (result.read, result.clean, result.quarantined, result.skipped) == (40, 40, 0, 0)
    # Line 1: custom_id request-0, body.created 1729730156 = 2024-10-24 00:35:56 UTC, usage 390 / 223, status 200.
    row = con.execute(
        "SELECT timestamp, model, operation, input_tokens, output_tokens, http_status, status, "
        "left(completion, 46) FROM requests WHERE request_id = 'request-0'"
    ).fetchone()
    assert row == (
        dt.datetime(2024, 10, 24, 0, 35, 56, tzinfo=dt.UTC),
        "gpt-4o-2024-08-06",
        "chat.completion",
        390,
        223,
        200,
        "ok",
        "- Trash can is below the bulletin board and to",
    )
    # The README's totals over the 40 lines: prompt 24,211 and completion 6,937 tokens.
    assert con.execute("SELECT sum(input_tokens), sum(output_tokens) FROM requests").fetchone() == (24211, 6937)
    # Nothing unmapped is dropped silently: the envelope's keys all map (id, custom_id, response, error).
    assert not [w for w in result.warnings if "no column reads" in w]


def test_openai_batch_read_as_plain_jsonl_is_refused_with_the_reason(tmp_path):
    """Named as generic JSON Lines, the batch file maps no time: one clear refusal, not 40 quarantined lines."""
    with pytest.raises(InputError, match=r"no key gives the time.*custom_id.*response.*openai_batch"):
        build_request([str(REAL / "openai_batch_output.jsonl")], "jsonl", now=NOW)


def test_openai_batch_through_a_declarative_mapping(tmp_path):
    """The same file read with plain `jsonl` and a source mapping (what a user writes for a schema we lack)."""
    opts = ReadOptions(
        fields=(
            ("timestamp", "response.body.created"),
            ("request_id", "custom_id"),
            ("model", "response.body.model"),
            ("input_tokens", "response.body.usage.prompt_tokens"),
            ("output_tokens", "response.body.usage.completion_tokens"),
            ("completion", "response.body.choices[0].message.content"),
        ),
        time=TimeSpec(format="epoch_s"),
    )
    result, con = _ingest(tmp_path, REAL / "openai_batch_output.jsonl", "jsonl", opts)
    assert (result.clean, result.quarantined) == (40, 0)
    assert con.execute("SELECT timestamp, input_tokens FROM requests WHERE request_id = 'request-0'").fetchone() == (
        dt.datetime(2024, 10, 24, 0, 35, 56, tzinfo=dt.UTC),
        390,
    )
    # `response.status_code`, `error` and `id` are read by no field now: the ingest says so.
    assert any("keys no column reads" in w and "error" in w for w in result.warnings)


def test_litellm_spend_log(tmp_path):
    """The file is one pretty-printed object: refused as not JSON Lines; the same row on one line is read."""
    src = REAL / "litellm_spend_logs.json"
    with pytest.raises(InputError, match="single JSON document.*jq -c"):
        build_request([str(src)], "auto", now=NOW)
    path = tmp_path / "spend.jsonl"
    path.write_text(json.dumps(json.loads(src.read_text())) + "\n")
    assert detect_format(path) == "litellm"
    result, con = _ingest(tmp_path, path)
    _accounted(result)
    assert result.clean == 1
    # startTime 09:20:46.847371, endTime and completionStartTime 09:20:46.851954: 4.583 ms; tokens 10 / 20.
    row = con.execute(
        "SELECT timestamp, request_id, model, operation, input_tokens, output_tokens, "
        "round(latency_ms, 3), round(ttft_ms, 3), status FROM requests"
    ).fetchone()
    assert row == (
        dt.datetime(2025, 1, 24, 9, 20, 46, 847371, tzinfo=dt.UTC),
        "chatcmpl-2283081b-dc89-41f6-93e6-d4f914774027",
        "gpt-4o",
        "acompletion",
        10,
        20,
        4.583,
        4.583,
        "ok",
    )
    # The proxy writes its clock without an offset: said, not hidden; and the spend it logged is not silently lost.
    assert any("no UTC offset" in w for w in result.warnings)
    assert any("spend" in w and "no column reads" in w for w in result.warnings)


@pytest.mark.parametrize("name,year", [("vllm_server_v0.log", 2025), ("vllm_server_v1.log", 2026)])
def test_vllm_server_logs_are_never_read_as_requests(tmp_path, name, year):
    """A vLLM server log is read as its statistics (format vllm_log, table engine_log: test_serving_formats.py);
    named as a request format it is refused, pointing to vllm_log."""
    path = REAL / name
    assert detect_format(path) == "vllm_log"
    for fmt in ("csv", "jsonl"):
        with pytest.raises(InputError, match="looks like vllm_log"):
            build_request([str(path)], fmt, now=NOW)
    # A scheduled run reads it too: its statistics lines into engine_log, every other line skipped, nothing quarantined.
    result, con = _ingest(tmp_path, path, options=ReadOptions(time=TimeSpec(year=year)), strict=False)
    _accounted(result)
    assert (result.read, result.quarantined, result.clean + result.skipped) == (_lines(path), 0, _lines(path))
    assert con.execute("SELECT count(*) FROM requests").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM engine_log").fetchone() == (result.clean,)


def _lines(path) -> int:
    data = path.read_bytes()
    return data.count(b"\n") + (not data.endswith(b"\n"))


def test_vllm_metrics_scrape_needs_its_scrape_time(tmp_path):
    path = REAL / "vllm_metrics_v0.prom"
    with pytest.raises(InputError, match="no timestamps.*--at"):
        build_request([str(path)], "auto", now=NOW)
    at = ReadOptions(time=TimeSpec(scraped_at="2024-06-11T21:00:00+00:00"))
    result, con = _ingest(tmp_path, path, options=at)
    _accounted(result)
    # 178 lines (the last without a newline): 29 # HELP + 29 # TYPE comments, 120 samples.
    assert (result.read, result.clean, result.skipped, result.by_skip) == (178, 120, 58, {"comment": 58})
    # Line 42: vllm:num_requests_running{model_name="facebook/opt-125m"} 0.0; line 84: TTFT _sum 0.31326723098754883.
    got = dict(
        con.execute(
            "SELECT metric, value FROM gauges WHERE metric IN ('vllm:num_requests_running', "
            "'vllm:time_to_first_token_seconds_sum')"
        ).fetchall()
    )
    assert got == {"vllm:num_requests_running": 0.0, "vllm:time_to_first_token_seconds_sum": 0.31326723098754883}
    assert con.execute("SELECT DISTINCT timestamp FROM gauges").fetchall() == [
        (dt.datetime(2024, 6, 11, 21, 0, tzinfo=dt.UTC),)
    ]
    labels = con.execute("SELECT labels FROM gauges WHERE metric = 'vllm:num_requests_running'").fetchone()[0]
    assert json.loads(labels) == {"model_name": "facebook/opt-125m"}


def test_dcgm_exporter_old_hostname_label(tmp_path):
    at = ReadOptions(time=TimeSpec(scraped_at="2022-01-10T08:00:00+00:00"))
    result, con = _ingest(tmp_path, REAL / "dcgm_Hostname.prom", options=at)
    _accounted(result)
    assert (result.read, result.clean, result.skipped) == (48, 16, 32)
    # One Tesla T4 on node 424773df46e0: FB used 0 (line 39) + free 15109 (line 36) MiB, 25 C (line 9), 8.969 W.
    row = con.execute(
        "SELECT host, device, gpu_mem_used_mb_mean, gpu_mem_total_mb_mean, temperature_c_mean, "
        "power_w_mean, gpu_util_pct_mean FROM resource_windows WHERE window_size = '5m'"
    ).fetchall()
    assert row == [("424773df46e0", "gpu0", 0.0, 15109.0, 25.0, 8.969, 0.0)]


def test_dcgm_exporter_mig_and_lower_case_hostname_made_up(tmp_path):
    """Made-up sample (tests/data/made_up/README.md): no public file has MIG + `hostname=`; values by hand there."""
    at = ReadOptions(time=TimeSpec(scraped_at="2026-11-20T10:00:00+00:00"))
    result, con = _ingest(tmp_path, MADE_UP / "dcgm_mig_hostname.prom", options=at)
    _accounted(result)
    rows = con.execute(
        "SELECT host, device, gpu_mem_used_mb_mean, gpu_mem_total_mb_mean, gpu_util_pct_mean, pod "
        "FROM resource_windows WHERE window_size = '5m' ORDER BY host, device"
    ).fetchall()
    assert rows == [
        ("10.0.3.17", "gpu0", 79899.0, 80925.0, 97.0, None),
        ("gpu-node-a", "gpu0/mig1", 19967.0, 40192.0, None, "vllm-llama-7f9c6d-x2kqp"),
        ("gpu-node-a", "gpu0/mig5", 0.0, 10112.0, None, None),
        ("gpu-node-a", "gpu1", 0.0, 81925.0, 0.0, None),
    ]


def test_burstgpt_needs_its_origin(tmp_path):
    path = REAL / "burstgpt_head.csv"
    with pytest.raises(InputError, match="seconds from the trace start.*origin"):
        build_request([str(path)], "auto", now=NOW)
    opts = ReadOptions(time=TimeSpec(origin="2023-05-01T00:00:00+00:00"))
    result, con = _ingest(tmp_path, path, options=opts)
    _accounted(result)
    assert (result.read, result.clean, result.by_skip) == (4, 3, {"header": 1})
    # Row 1: 5,ChatGPT,472,18,490,Conversation log -> origin + 5 s; row 3: 118,GPT-4,417,276,...
    rows = con.execute(
        "SELECT timestamp, model, input_tokens, output_tokens, operation, status FROM requests ORDER BY timestamp"
    ).fetchall()
    assert rows[0] == (dt.datetime(2023, 5, 1, 0, 0, 5, tzinfo=dt.UTC), "ChatGPT", 472, 18, "Conversation log", "ok")
    assert rows[2][:4] == (dt.datetime(2023, 5, 1, 0, 1, 58, tzinfo=dt.UTC), "GPT-4", 417, 276)


def test_burstgpt_zero_response_tokens_are_failures(tmp_path):
    """The trace's documented convention (its README: failures have Response tokens 0); rows are real ones edited."""
    path = tmp_path / "b.csv"
    lines = (REAL / "burstgpt_head.csv").read_text().splitlines()
    lines[2] = lines[2].replace(",230,1317,", ",0,1087,")
    path.write_text("\n".join(lines) + "\n")
    result, con = _ingest(tmp_path, path, options=ReadOptions(time=TimeSpec(origin="2023-05-01T00:00:00+00:00")))
    assert con.execute("SELECT status, error_type FROM requests WHERE output_tokens = 0").fetchall() == [
        ("error", "zero_response_tokens")
    ]


@pytest.mark.parametrize(
    "name,used,total,util,device",
    [
        ("nvidia_smi_h100.csv", 19818.0, 81559.0, 100.0, "gpu0"),
        ("nvidia_smi_h100_mig.csv", 11125.0, 81559.0, None, "gpu0"),  # MIG on: utilization.gpu is [N/A], not 0
        ("nvidia_smi_l40s.csv", 1235.0, 46068.0, 9.0, "gpu0"),
    ],
)
def test_nvidia_smi_query_gpu_captures(tmp_path, name, used, total, util, device):
    path = REAL / name
    assert detect_format(path) == "nvidia_smi"
    result, con = _ingest(tmp_path, path)
    _accounted(result)
    assert (result.read, result.clean, result.by_skip) == (2, 1, {"header": 1})
    row = con.execute("SELECT device, gpu_mem_used_mb, gpu_mem_total_mb, gpu_util_pct FROM resources").fetchone()
    assert row == (device, used, total, util)
    # nvidia-smi writes local time without an offset: read as UTC, and the ingest says so.
    assert any("no UTC offset" in w for w in result.warnings)


def test_nvidia_smi_local_time_in_its_zone(tmp_path):
    # Row 1 of the H100 capture: 2026/07/14 08:12:53.353, local time; in Berlin (CEST, UTC+2) that is 06:12:53.353 Z.
    opts = ReadOptions(time=TimeSpec(timezone="Europe/Berlin"))
    result, con = _ingest(tmp_path, REAL / "nvidia_smi_h100.csv", options=opts)
    assert con.execute("SELECT timestamp FROM resources").fetchone() == (
        dt.datetime(2026, 7, 14, 6, 12, 53, 353000, tzinfo=dt.UTC),
    )
    assert not [w for w in result.warnings if "offset" in w]
