"""bench/live.py's measuring parts: Slack messages read back, attributed to incidents, the live_job runs summarised, the
CPU of a process tree, the history's chunks (the bench itself needs `dagster dev` and minutes: never run here)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import _live_history as history  # noqa: E402
import _live_measure as measure  # noqa: E402

from monitor_pipeline.alerts.model import Alert  # noqa: E402
from monitor_pipeline.alerts.slack import blocks  # noqa: E402

T0 = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)


def _body(key: str, kind: str = "firing", start: dt.datetime | None = None, minutes: float = 5) -> dict:
    rule, _, entity = key.partition(":")
    alert = Alert(
        key=key,
        kind=kind,
        rule=rule,
        entity=entity,
        severity="critical",
        state="resolved" if kind == "resolved" else "firing",
        title=f"{entity} above forecast",
        at=T0,
        value=0.25,
        window_start=start,
        window_end=None if start is None else start + dt.timedelta(minutes=minutes),
    )
    return blocks(alert, "http://127.0.0.1:3000")


def _msg(key: str, at_min: float, kind: str = "firing", window_min: float | None = None, minutes: float = 5) -> dict:
    start = None if window_min is None else T0 + dt.timedelta(minutes=window_min)
    return measure.parse_message(_body(key, kind, start, minutes), (T0 + dt.timedelta(minutes=at_min)).timestamp())


def _incident(n: int, kind: str, at_min: float, affected: list[str], details: dict | None = None) -> dict:
    start = T0 + dt.timedelta(minutes=at_min)
    return {
        "id": f"inc-{n}",
        "kind": kind,
        "start": start.isoformat(),
        "end": (start + dt.timedelta(minutes=10)).isoformat(),
        "affected": affected,
        "details": details or {},
        "onset_wall": start.timestamp(),
    }


def test_a_message_reads_back_its_key_state_and_window():
    m = _msg("anomaly:requests.latency_p95_ms{model=a&b}", 7, window_min=1)
    assert m["key"] == "anomaly:requests.latency_p95_ms{model=a&b}"  # Slack's &amp; undone
    assert (m["rule"], m["entity"], m["kind"], m["severity"]) == (
        "anomaly",
        "requests.latency_p95_ms{model=a&b}",
        "firing",
        "critical",
    )
    assert m["window_start"] == (T0 + dt.timedelta(minutes=1)).timestamp()
    assert m["window_end"] == (T0 + dt.timedelta(minutes=6)).timestamp()
    assert m["text"].startswith("CRITICAL firing:")
    assert measure.parse_message({"text": "plain"}, 1.0)["key"] == ""  # not an alert message: a false alert
    assert m["members"] == []


def test_a_message_names_the_series_that_moved_with_its_lead():
    text = "CRITICAL firing: requests.error_rate above forecast; moved with it: requests.latency_p95_ms{model=q}, gpu.x"
    assert measure.moved_with(text) == ["requests.latency_p95_ms{model=q}", "gpu.x"]
    assert measure.moved_with("x above forecast; moved with it: a, b, c, d and 3 more") == ["a", "b", "c", "d"]
    assert measure.moved_with("x above forecast") == []


def test_messages_go_to_the_incident_they_name_the_rest_are_false():
    burst = _incident(1, "error_burst", 1, ["requests.error_rate"])
    abuse = _incident(2, "abusive_user", 3.5, ["security.user{user_id=user-9999}"], {"client_ip": "203.0.113.66"})
    spike = _incident(3, "traffic_spike", 6, ["requests.count", "requests.error_rate"])
    messages = [
        _msg("anomaly:requests.error_rate", 0.5, window_min=-5),  # before the onset: false
        _msg("anomaly:requests.error_rate", 4, window_min=0),  # the burst's
        _msg("security:user-9999", 4.5, window_min=3.52, minutes=0.3),  # shown to the minute: 10:03 -> 10:03
        _msg("security:203.0.113.66", 5),  # the abuser's IP
        _msg("anomaly:requests.error_rate", 9, window_min=6),  # both name it: the newest change, the spike
        _msg("anomaly:requests.input_tokens", 12, "resolved", window_min=6),  # a follow-up of a key never sent
        _msg("anomaly:requests.error_rate", 13, "resolved", window_min=0),
        _msg("anomaly:resources.gpu_util_pct{host=h,device=g}", 8, window_min=6),  # nobody's
        _msg("security:user-9999", 60, "renotify", window_min=40),  # long after: a reminder of the abuse's alert
    ]
    got = measure.attribute(messages, [burst, abuse, spike])
    per = {k: [(m["key"], m["kind"]) for m in v] for k, v in got["per_incident"].items()}
    assert per["inc-1"] == [("anomaly:requests.error_rate", "firing"), ("anomaly:requests.error_rate", "resolved")]
    assert per["inc-2"] == [
        ("security:user-9999", "firing"),
        ("security:203.0.113.66", "firing"),
        ("security:user-9999", "renotify"),
    ]
    assert per["inc-3"] == [("anomaly:requests.error_rate", "firing")]
    assert [m["key"] for m in got["false"]] == [
        "anomaly:requests.error_rate",
        "anomaly:resources.gpu_util_pct{host=h,device=g}",
        "anomaly:requests.input_tokens",
    ]
    lat = measure.latencies(got["per_incident"], [burst, abuse, spike])
    assert lat == {"inc-1": 180.0, "inc-2": 60.0, "inc-3": 180.0}
    assert measure.summary_stats(lat) == (180.0, 180.0)
    assert measure.summary_stats({"a": 10.0, "b": None, "c": 30.0}) == (30.0, None)  # a miss: never
    # A finding of a correlated event detects every incident among its members.
    event = {**_msg("anomaly:requests.error_rate", 9, window_min=4), "members": ["requests.count"]}
    every = measure.attribute([event], [burst, abuse, spike], every=True)["per_incident"]
    assert [k for k, v in every.items() if v] == ["inc-1", "inc-3"]
    assert measure.summary_stats({"a": None, "b": None, "c": 30.0}) == (None, None)


def _record(run_id: str, start: float, end: float | None, status: str = "SUCCESS", created: float | None = None):
    return SimpleNamespace(
        start_time=start,
        end_time=end,
        create_timestamp=dt.datetime.fromtimestamp(created if created is not None else start - 2, dt.UTC),
        dagster_run=SimpleNamespace(run_id=run_id * 8, status=SimpleNamespace(value=status)),
    )


def test_micro_batches_count_durations_waits_and_overlaps():
    records = [
        _record("a", 100, 104),
        _record("b", 130, 137, created=125),
        _record("c", 135, 140, status="FAILURE"),  # starts before b ended
        _record("d", 10, 12),  # before the live phase
    ]
    got = measure.micro_batches(records, since=50, until=200)
    assert got["count"] == 3 and got["failed"] == ["cccccccc"]
    assert got["seconds"] == {"mean": 5.33, "p50": 5.0, "max": 7.0, "min": 4.0}
    assert got["queued_s"]["max"] == 5.0
    assert got["overlapping"] == [("bbbbbbbb", "cccccccc")]
    assert got["between_starts_s"]["min"] == 5.0


def test_tree_cpu_counts_a_finished_child_in_full():
    """A child that burns CPU and ends is counted once its parent reaps it (children_user/_system)."""
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.6: pass\n"
    script = f"import subprocess, sys, time\nsys.stdin.readline()\nsubprocess.run([sys.executable, '-c', {burn!r}])\n"
    parent = subprocess.Popen([sys.executable, "-c", script + "time.sleep(30)"], stdin=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)  # the parent has started and waits for its line
        tree = measure.TreeCPU(parent.pid, interval_s=0.05).start()
        a = tree.snapshot()
        parent.stdin.write("go\n")
        parent.stdin.flush()
        deadline = time.monotonic() + 20
        while tree.total - a["total"] < 0.6 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.2)
        b = tree.snapshot()
        tree.stop()
    finally:
        parent.kill()
        parent.wait()
    got = tree.between(a, b)
    assert 0.55 <= got["cpu_s"] < 3
    assert sum(got["by_role_cpu_s"].values()) > 0.3  # the child, seen while it ran
    assert measure.role_of(["python", "-m", "dagster._daemon", "run"]) == "daemon"
    assert measure.role_of(["python", "-c", "from multiprocessing.spawn import spawn_main"]) == "run_worker"


def test_history_chunks_end_on_round_times_and_report_whole_days():
    start = dt.datetime(2026, 12, 5, 22, 30, tzinfo=dt.UTC).timestamp()
    end = dt.datetime(2026, 12, 6, 1, 10, tzinfo=dt.UTC).timestamp()
    got = history.chunks(start, end, 60)
    assert [(b - a) / 60 for a, b in got] == [30, 60, 60, 10]
    assert got[0][0] == start and got[-1][1] == end
    assert history.days_of(start, end) == [dt.date(2026, 12, 5), dt.date(2026, 12, 6)]
    assert history.chunk_minutes(1) == history.CHUNK_MIN
    assert history.chunk_minutes(1000) * 60 * 1000 * 1.6 <= 1_000_000


@pytest.mark.parametrize("days", [None, 1])
def test_the_history_starts_where_scoring_needs_it(days):
    import _live_stack as live

    today = dt.date(2026, 12, 7)
    midnight = dt.datetime(2026, 12, 7, tzinfo=dt.UTC).timestamp()
    got = live.history_start(today, days, train=False)
    assert got == midnight - 86400 * (days or live.FALLBACK_DAYS)
    assert live.history_start(today, None, train=True) < midnight - 3 * 86400  # scoring_bounds: 3 days and 4 hours


def test_a_capacity_message_goes_to_the_climb_of_the_device_it_names():
    leak = _incident(1, "gpu_memory_leak", 1, ["resources.gpu_mem_used_share{host=gpu-node-1,device=gpu0}"])
    kv = _incident(2, "kv_cache_saturation", 1, ["engine.kv_cache_usage{model=llama}"])
    messages = [
        _msg("resource.time_to_threshold:gpu-node-1:gpu0:gpu_memory", 3, window_min=0),
        _msg("engine.time_to_threshold:vllm:llama:kv_cache_usage", 4, window_min=0),
        _msg("resource.time_to_threshold:gpu-node-1:gpu1:gpu_memory", 5, window_min=0),  # another GPU: false
    ]
    got = measure.attribute(messages, [leak, kv])
    assert [m["key"] for m in got["per_incident"]["inc-1"]] == [messages[0]["key"]]
    assert [m["key"] for m in got["per_incident"]["inc-2"]] == [messages[1]["key"]]
    assert [m["key"] for m in got["false"]] == [messages[2]["key"]]
