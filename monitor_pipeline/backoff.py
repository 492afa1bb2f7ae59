"""One retry rule for every HTTP client we own (Slack delivery, the OpenAI-compatible probe target).

A server's `Retry-After` (or OpenAI's `retry-after-ms`) wins, plus up to a second of jitter as slack_sdk's
RateLimitErrorRetryHandler adds, so a fleet of clients never wakes in the same instant and none retries early.
Without one: exponential backoff from `base_s`, capped at `cap_s`, less up to a quarter as jitter (the OpenAI SDK's rule).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

RETRY_AFTER_JITTER_S = 1.0
BACKOFF_JITTER = 0.25


def retry_after_s(headers: Mapping[str, Any], now: dt.datetime | None = None) -> float | None:
    """Seconds the server asked us to wait (`retry-after-ms`, `Retry-After` as seconds or an HTTP date), else None."""
    lower = {str(k).lower(): (v[0] if isinstance(v, list | tuple) and v else v) for k, v in headers.items()}
    ms = lower.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    raw = lower.get("retry-after")
    if raw is None:
        return None
    text = str(raw).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


def delay_s(
    attempt: int,
    base_s: float,
    cap_s: float,
    retry_after: float | None = None,
    rng: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry number `attempt` (1, 2, ...): Retry-After plus jitter, else jittered backoff."""
    if retry_after is not None:
        return retry_after + RETRY_AFTER_JITTER_S * rng()
    plain = min(base_s * 2 ** max(0, attempt - 1), cap_s)
    return plain * (1 - BACKOFF_JITTER * rng())
