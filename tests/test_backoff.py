"""The shared retry rule: Retry-After (seconds, HTTP date, -ms) plus jitter wins; else jittered capped backoff."""

from __future__ import annotations

import datetime as dt

from monitor_pipeline.backoff import delay_s, retry_after_s

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def test_retry_after_forms():
    assert retry_after_s({"Retry-After": "30"}) == 30
    assert retry_after_s({"retry-after": ["7"]}) == 7  # slack_sdk gives header values as lists
    assert retry_after_s({"Retry-After": "Mon, 07 Dec 2026 12:01:30 GMT"}, NOW) == 90
    assert retry_after_s({"Retry-After": "Mon, 07 Dec 2026 11:00:00 GMT"}, NOW) == 0  # in the past: now
    assert retry_after_s({"retry-after-ms": "250", "Retry-After": "9"}) == 0.25
    assert retry_after_s({"Retry-After": "soon"}) is None and retry_after_s({}) is None


def test_delay_honours_retry_after_and_never_goes_below_it():
    assert delay_s(1, 0.5, 8, retry_after=600, rng=lambda: 0.0) == 600
    assert delay_s(5, 0.5, 8, retry_after=600, rng=lambda: 1.0) == 601  # not capped: the server said so


def test_backoff_doubles_with_jitter_up_to_the_cap():
    highs = [delay_s(n, 0.5, 8, rng=lambda: 0.0) for n in range(1, 8)]
    lows = [delay_s(n, 0.5, 8, rng=lambda: 1.0) for n in range(1, 8)]
    assert highs == [0.5, 1, 2, 4, 8, 8, 8]
    assert lows == [h * 0.75 for h in highs]
