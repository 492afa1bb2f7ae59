"""The live simulator: whole lines appended in time order, never ahead of the clock; incidents announced as they begin
and visible in the lines; rotation loses and repeats nothing; a run across midnight; the CLI."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import re
import signal
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from monitor_pipeline.cli.app import main
from monitor_pipeline.errors import InputError
from monitor_pipeline.simulate.live import simulate_live

NOON = dt.datetime(2026, 11, 17, 12, 0, tzinfo=dt.UTC)
_ISO = re.compile(r'"timestamp": "([^"]+)"')


class FakeClock:
    """A wall clock that moves only when the run sleeps; `hook` sees the files between two steps."""

    def __init__(self, at: dt.datetime, hook: Callable[[], None] | None = None) -> None:
        self.t = at.timestamp()
        self.hook = hook
        self.steps = 0

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.steps += 1
        if self.hook is not None:
            self.hook()
        self.t += seconds


def _run(out: Path, clock: FakeClock, **kw) -> dict:
    kw = {"rate": 1.0, "minutes": 3.0, "seed": 5, **kw}
    return simulate_live(out, clock=clock, sleep=clock.sleep, **kw)


def _times(path: Path) -> np.ndarray:
    """Epoch seconds of every line of a requests/resources file (JSON) or engine file (trailing ms)."""
    lines = [x for x in path.read_text().splitlines() if not x.startswith("#")]
    if path.suffix == ".prom":
        return np.array([int(x.rsplit(" ", 1)[1]) / 1000 for x in lines])
    # The timestamp leads every line, so even a line the simulator cut short (its realistic bad lines) carries it.
    return np.array([dt.datetime.fromisoformat(_ISO.search(x)[1]).timestamp() for x in lines])


def test_whole_lines_in_time_order_never_ahead_of_the_clock(tmp_path):
    seen: dict[str, str] = {}

    def check() -> None:
        now = clock()
        for path in tmp_path.glob("*-*.*"):
            text = path.read_text()
            assert text.endswith("\n")  # every append is whole lines
            assert text.startswith(seen.get(path.name, ""))  # appended, never rewritten
            seen[path.name] = text
            ts = _times(path)
            assert (np.diff(ts) >= 0).all() and ts.max() <= now
        # Every request stamped up to the simulated now is already in its file (flushed each simulated second).
        sim_now = start + (now - wall0) * 10
        requests = tmp_path / "requests-2026-11-17.jsonl"
        if requests.exists():
            assert len(_times(requests)) == int((final <= sim_now).sum())

    # A first run gives the lines to expect; the second, same seed, is inspected between its steps.
    summary = _run(tmp_path / "first", FakeClock(NOON), speed=10)
    final = _times(tmp_path / "first" / "requests-2026-11-17.jsonl")
    clock = FakeClock(NOON, check)
    wall0 = clock()
    start = (NOON - dt.timedelta(minutes=3 * 0.9)).timestamp()
    again = _run(tmp_path, clock, speed=10)
    assert clock.steps >= 170  # a step per simulated second (0.1 s of wall time at speed 10)
    check()
    assert again["files"] == summary["files"] and summary["requests"] == len(final)
    assert 120 < summary["requests"] < 240  # about 1 a second for 3 minutes
    assert dt.datetime.fromisoformat(summary["start"]).timestamp() == start  # the last line is written at wall now
    assert set(summary["files"]) == {
        f"{k}-2026-11-17.{e}" for k, e in (("requests", "jsonl"), ("resources", "jsonl"))
    } | {"engine-2026-11-17.prom"}
    res = _times(tmp_path / "resources-2026-11-17.jsonl")
    assert len(res) == 6 * len(np.unique(res)) and np.all(np.diff(np.unique(res)) == 10)  # 2 hosts x (cpu + 2 GPUs)
    scrapes = np.unique(_times(tmp_path / "engine-2026-11-17.prom"))
    assert np.all(np.diff(scrapes) == 60) and len(scrapes) == 3  # one scrape a simulated minute
    assert json.loads((tmp_path / "incidents.json").read_text()) == []  # no incident asked for


def test_the_start_never_runs_ahead_of_the_wall_clock(tmp_path):
    with pytest.raises(InputError, match="wall clock"):
        _run(tmp_path, FakeClock(NOON), speed=2, start=NOON - dt.timedelta(minutes=1))  # would reach 12:02 at 12:01:30
    clock = FakeClock(NOON)
    summary = _run(tmp_path, clock, speed=2, start=NOON - dt.timedelta(minutes=1.5))
    # The latest start allowed: the last line is stamped with the wall time it is written at.
    assert dt.datetime.fromisoformat(summary["end"]).timestamp() == pytest.approx(clock(), abs=0.02)


def test_an_incident_is_announced_once_it_began_and_shows_in_the_lines(tmp_path):
    start = NOON - dt.timedelta(minutes=4)  # 8 minutes at speed 2 end at wall now: they start 4 minutes before
    onset = (start + dt.timedelta(minutes=2)).timestamp()
    announced = []

    def check() -> None:
        path = tmp_path / "incidents.json"
        sim_now = start.timestamp() + (clock() - wall0) * 2
        listed = json.loads(path.read_text())
        assert listed == [] if sim_now < onset else [i["kind"] for i in listed] == ["error_burst"]
        announced.extend(listed[:1])
        assert not list(tmp_path.glob(".*tmp"))  # rewritten through a temporary file, replaced atomically

    clock = FakeClock(NOON, check)
    wall0 = clock()
    summary = _run(tmp_path, clock, rate=3.0, minutes=8, speed=2, incidents=["error_burst@2"])
    assert announced and announced[0]["start"] == dt.datetime.fromtimestamp(onset, dt.UTC).isoformat()
    assert set(announced[0]) == {"id", "kind", "start", "end", "affected", "details"}  # the batch's fields
    assert summary["incidents"] == [{"id": "inc-1", "kind": "error_burst", "start": announced[0]["start"]}]
    rows = [json.loads(x) for x in (tmp_path / "requests-2026-11-17.jsonl").read_text().splitlines() if _ok(x)]
    ts = np.array([dt.datetime.fromisoformat(r["timestamp"]).timestamp() for r in rows])
    err = np.array([r["status"] == "error" for r in rows])
    burst = ts >= onset
    assert err[burst].mean() > 0.18 and err[~burst].mean() < 0.05
    assert {r["http_status"] for r, hit in zip(rows, burst & err, strict=True) if hit} <= {500, 503}


def _ok(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def test_the_kv_cache_fills_and_a_gpu_leaks(tmp_path):
    saturation = []

    def check() -> None:
        for inc in json.loads((tmp_path / "incidents.json").read_text()):
            at = inc["details"].get("saturation_at")
            assert at is None or dt.datetime.fromisoformat(at).timestamp() <= clock()  # known once it happened
            if at:
                saturation.append(at)

    clock = FakeClock(NOON, check)
    summary = _run(
        tmp_path, clock, rate=2.0, minutes=14, speed=120, incidents=["kv_cache_saturation@1", "gpu_memory_leak@1"]
    )
    assert [i["kind"] for i in summary["incidents"]] == ["kv_cache_saturation", "gpu_memory_leak"]
    incidents = {i["kind"]: i for i in json.loads((tmp_path / "incidents.json").read_text())}
    kv, leak = incidents["kv_cache_saturation"]["details"], incidents["gpu_memory_leak"]["details"]
    assert saturation and kv["saturation_at"] == saturation[0]
    usage = [
        float(x.split()[1])
        for x in (tmp_path / "engine-2026-11-17.prom").read_text().splitlines()
        if x.startswith("vllm:kv_cache_usage_perc") and f'model_name="{kv["model"]}"' in x
    ]
    assert usage[0] < 0.5 and max(usage) >= 0.95  # the agent prompts fill the cache
    mem = [
        json.loads(x)["gpu_mem_used_mb"]
        for x in (tmp_path / "resources-2026-11-17.jsonl").read_text().splitlines()
        if f'"host": "{leak["host"]}", "device": "{leak["device"]}"' in x
    ]
    assert mem[0] < 0.85 * 81920 and max(mem[-12:]) > 0.95 * 81920  # climbs to the leak's peak


@pytest.fixture(scope="module")
def unrotated(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("plain")
    _run(out, FakeClock(NOON), rate=2.0, minutes=5, speed=30)
    return (out / "requests-2026-11-17.jsonl").read_text()


def _rotated_text(out: Path) -> str:
    """Every requests line in the order written: the oldest rotated file first, the live file last."""
    live = out / "requests-2026-11-17.jsonl"
    parts = []
    for n in range(99, 0, -1):
        for p in (out / f"{live.name}.{n}", out / f"{live.name}.{n}.gz"):
            if p.exists():
                parts.append(gzip.decompress(p.read_bytes()).decode() if p.suffix == ".gz" else p.read_text())
    return "".join(parts) + (live.read_text() if live.exists() else "")


@pytest.mark.parametrize("mode", ["rename", "copytruncate", "gzip"])
def test_rotation_loses_and_repeats_nothing(tmp_path, unrotated, mode):
    def check() -> None:
        # A reader that looks at the rotated files and the live one finds every line written so far, once.
        assert unrotated.startswith(_rotated_text(tmp_path))

    summary = _run(tmp_path, FakeClock(NOON, check), rate=2.0, minutes=5, speed=30, rotate_minutes=1, rotate_mode=mode)
    assert summary["rotations"] == 4
    assert _rotated_text(tmp_path) == unrotated
    names = {p.name for p in tmp_path.glob("requests-*")}
    ext = ".gz" if mode == "gzip" else ""
    assert names == {"requests-2026-11-17.jsonl", *(f"requests-2026-11-17.jsonl.{n}{ext}" for n in range(1, 5))}


def test_a_run_across_midnight_writes_two_days(tmp_path):
    midnight = dt.datetime(2026, 11, 18, tzinfo=dt.UTC)
    start = midnight - dt.timedelta(minutes=1.5)
    summary = _run(tmp_path, FakeClock(midnight + dt.timedelta(hours=1)), speed=50, start=start)
    for kind, ext in (("requests", "jsonl"), ("resources", "jsonl"), ("engine", "prom")):
        before, after = (tmp_path / f"{kind}-2026-11-{d}.{ext}" for d in (17, 18))
        assert _times(before).max() < midnight.timestamp() <= _times(after).min()
        assert summary["files"][before.name] > 0 and summary["files"][after.name] > 0
    assert (tmp_path / "engine-2026-11-18.prom").read_text().startswith("# simulated vLLM")  # a new file's header


def test_sigterm_stops_cleanly_with_a_summary(tmp_path):
    def check() -> None:
        if clock.steps == 30:
            os.kill(os.getpid(), signal.SIGTERM)

    clock = FakeClock(NOON, check)
    handler = signal.getsignal(signal.SIGTERM)
    summary = _run(tmp_path, clock, speed=1)
    assert summary["interrupted"] and clock.steps == 30  # stopped after the step it was asked in
    assert signal.getsignal(signal.SIGTERM) is handler  # the handler is put back
    text = (tmp_path / "requests-2026-11-17.jsonl").read_text()
    assert text.endswith("\n") and summary["requests"] == text.count("\n") < 60


def test_cli_runs_live_and_prints_json(tmp_path, capsys):
    args = ["simulate", "--live", "--out", str(tmp_path), "--rate", "2", "--minutes", "0.5", "--speed", "300"]
    assert main([*args, "--incident", "traffic_spike@0.1", "--rotate", "0.2", "--rotate-mode", "gzip"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["speed"] == 300 and summary["rotations"] == 2 and summary["wall_seconds"] < 10
    assert [i["kind"] for i in summary["incidents"]] == ["traffic_spike"]
    end = dt.datetime.fromisoformat(summary["end"]).timestamp()
    assert end <= dt.datetime.now(dt.UTC).timestamp()  # the last line is stamped at (or before) wall now
    for name in summary["files"]:
        assert (tmp_path / name).exists()
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).isoformat()
    assert main([*args, "--start", later]) == 2
    assert "wall clock" in capsys.readouterr().err
    assert main([*args, "--incident", "volcano@1"]) == 2
    assert main(["simulate", "--out", str(tmp_path), "--rate", "2"]) == 2  # live options need --live


def test_a_diurnal_profile_follows_the_batch_cycle(tmp_path):
    """Arrivals at `rate` times the batch's profile over an ordinary weekday's mean (requests_per_day = rate * 86400),
    and the batch's load: latency grows with the hour's rate over the day's mean."""
    from monitor_pipeline.simulate.live import WEEKDAY_MEAN
    from monitor_pipeline.simulate.traffic import rate_profile

    def run(start: dt.datetime) -> tuple[int, float, float]:
        out = tmp_path / start.strftime("%a-%H")
        clock = FakeClock(start + dt.timedelta(hours=1))
        summary = _run(out, clock, rate=20.0, minutes=10, speed=1e4, start=start, profile="diurnal")
        assert summary["profile"] == "diurnal"
        h = start.hour * 3600
        expected = 20.0 * rate_profile(start.date())[h : h + 600].sum() / WEEKDAY_MEAN
        rows = [json.loads(x) for x in (out / f"requests-{start.date()}.jsonl").read_text().splitlines() if _ok(x)]
        latency = float(np.median([r["latency_ms"] for r in rows if r["status"] == "ok"]))
        return summary["requests"], expected, latency

    night, afternoon = (run(NOON.replace(hour=h)) for h in (3, 15))  # a Tuesday
    saturday = run(NOON.replace(day=21, hour=15))
    for n, expected, _ in (night, afternoon, saturday):
        assert abs(n - expected) < 5 * expected**0.5  # Poisson around the profile's rate
    assert afternoon[1] == pytest.approx(4 * night[1], rel=0.05)  # the cycle is about 4x from 03:00 to 15:00
    assert saturday[1] == pytest.approx(0.6 * afternoon[1], rel=0.01)  # weekends carry 0.6 of a weekday
    assert afternoon[2] > 1.08 * night[2]  # the batch's load: busier hours are slower
    with pytest.raises(InputError, match="profile"):
        _run(tmp_path, FakeClock(NOON), profile="weekly")


def test_a_traffic_spike_names_the_series_its_load_moves(tmp_path):
    summary = _run(tmp_path, FakeClock(NOON), rate=2.0, minutes=6, speed=120, incidents=["traffic_spike@3"])
    onset = dt.datetime.fromisoformat(summary["incidents"][0]["start"]).timestamp()
    (spike,) = json.loads((tmp_path / "incidents.json").read_text())
    assert "resources.gpu_util_pct{host=gpu-node-1,device=gpu0}" in spike["affected"]
    assert "requests.output_tokens_per_s" in spike["affected"]
    rows = [json.loads(x) for x in (tmp_path / "resources-2026-11-17.jsonl").read_text().splitlines()]
    util = [
        (dt.datetime.fromisoformat(r["timestamp"]).timestamp(), r["gpu_util_pct"])
        for r in rows
        if r["device"] == "gpu0"
    ]
    before = np.mean([u for t, u in util if t < onset])
    after = np.mean([u for t, u in util if t >= onset + 60])  # the load is a minute's moving mean
    assert after > before + 10


def test_an_incident_may_say_how_long_it_lasts(tmp_path):
    from monitor_pipeline.simulate.live import parse_incident

    assert parse_incident("error_burst@2") == ("error_burst", 2.0, None)
    assert parse_incident("error_burst@2+3.5") == ("error_burst", 2.0, 3.5)
    assert parse_incident(("gpu_memory_leak", 1, 4)) == ("gpu_memory_leak", 1.0, 4.0)
    for bad in ("error_burst@2+", "error_burst@2+0", "error_burst@2+x"):
        with pytest.raises(InputError, match="KIND@MINUTE"):
            parse_incident(bad)
    summary = _run(tmp_path, FakeClock(NOON), rate=2.0, minutes=6, speed=120, incidents=["abusive_user@1+2"])
    (abuse,) = json.loads((tmp_path / "incidents.json").read_text())
    start = dt.datetime.fromisoformat(summary["incidents"][0]["start"])
    assert dt.datetime.fromisoformat(abuse["end"]) - start == dt.timedelta(minutes=2)
    assert "requests.count" in abuse["affected"]  # 2 requests/s more on 2: the service's series move
    _run(tmp_path / "busy", FakeClock(NOON), rate=100.0, minutes=3, speed=120, incidents=["abusive_user@1"])
    (busy,) = json.loads((tmp_path / "busy" / "incidents.json").read_text())
    assert busy["affected"] == ["security.user{user_id=user-9999}"]  # 2 more on 100: only its own findings
