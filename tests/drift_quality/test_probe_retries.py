"""The OpenAI-compatible probe target retries like the SDKs: Retry-After honoured (plus jitter), a wait too long for a
run reported at once, jittered backoff otherwise."""

from __future__ import annotations

import threading
import time

import pytest

from monitor_pipeline.drift_quality.probes.endpoints import OpenAITarget, TargetUnavailable
from monitor_pipeline.drift_quality.probes.sets import load_probe_set
from tests.openai_server import openai_server
from tests.paths import ROOT

SMOKE = load_probe_set(ROOT / "assets" / "golden", "service_smoke")


def test_a_429_with_retry_after_is_waited_out_then_answered():
    seen: dict[str, list[float]] = {}
    lock = threading.Lock()

    def first_is_limited(prompt: str) -> str | int:
        with lock:
            times = seen.setdefault(prompt, [])
            times.append(time.monotonic())
            limited = len(seen) == 1 and len(times) == 1  # only the very first request is rate limited
        return 429 if limited else "ok"

    with openai_server(first_is_limited, headers={429: {"Retry-After": "1"}}) as srv:
        answers = OpenAITarget(srv["base_url"], "m", backoff_s=0.01).answer(SMOKE)
    assert [a.text for a in answers] == ["ok"] * len(SMOKE.probes)
    retried = [t for t in seen.values() if len(t) == 2]
    assert len(retried) == 1 and srv["requests"] == len(SMOKE.probes) + 1
    gap = retried[0][1] - retried[0][0]
    assert 1.0 <= gap < 3.0  # Retry-After: 1 plus at most 1 s of jitter; the 0.01 s backoff would have been too early


def test_retry_after_ms_is_read_too():
    calls = {"n": 0}

    def once(prompt: str) -> str | int:
        calls["n"] += 1
        return 503 if calls["n"] == 1 else "ok"

    with openai_server(once, headers={503: {"retry-after-ms": "50"}}) as srv:
        OpenAITarget(srv["base_url"], "m", concurrency=1).answer(SMOKE)
    assert srv["requests"] == len(SMOKE.probes) + 1


def test_a_retry_after_longer_than_a_run_may_wait_fails_at_once_and_says_why():
    with openai_server(lambda p: 429, headers={429: {"Retry-After": "600"}}) as srv:
        t = time.perf_counter()
        with pytest.raises(TargetUnavailable) as exc:
            OpenAITarget(srv["base_url"], "m", concurrency=1, max_retry_after_s=60).answer(SMOKE)
    assert time.perf_counter() - t < 5 and srv["requests"] == 1  # one request, no sleeping, the rest skipped
    assert "HTTP 429 (Retry-After 600 s): longer than the 60 s a probe waits" in str(exc.value)
