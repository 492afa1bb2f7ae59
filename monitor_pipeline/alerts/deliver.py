"""Delivery passes over the outbox: order per key, exponential backoff, Retry-After, dead-letter, one deliverer."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from monitor_pipeline.alerts.config import Delivery
from monitor_pipeline.alerts.outbox import Outbox
from monitor_pipeline.alerts.slack import Transport

Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    """The wall clock, in UTC."""
    return dt.datetime.now(dt.UTC)


@dataclass
class DeliveryReport:
    """What one pass did."""

    sent: int = 0
    failed: int = 0
    dead: int = 0
    skipped_channels: dict[str, str] = field(default_factory=dict)  # channel -> why it was not tried (paused until)
    errors: list[str] = field(default_factory=list)
    leased: bool = True

    def as_dict(self) -> dict:
        """JSON-ready."""
        return {
            "sent": self.sent,
            "failed": self.failed,
            "dead": self.dead,
            "skipped_channels": self.skipped_channels,
            "errors": self.errors[-5:],
            "leased": self.leased,
        }


def backoff(attempts: int, d: Delivery) -> dt.timedelta:
    """Delay before retry number `attempts` (1, 2, ...): base x 2^(n-1), capped."""
    return min(d.backoff * (2 ** max(0, attempts - 1)), d.backoff_max)


def deliver(
    outbox: Outbox, transports: dict[str, Transport], d: Delivery, clock: Clock = utcnow, owner: str | None = None
) -> DeliveryReport:
    """Send due pending entries, oldest first; a failure pauses its channel (backoff or Retry-After) for later passes."""
    owner = owner or f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    report = DeliveryReport()
    # A short lease renewed before every send: a second deliverer never overlaps this one, and a killed one
    # holds it for at most `ttl`.
    ttl = dt.timedelta(seconds=2 * d.timeout_s + 30)
    if not outbox.lease(owner, clock(), ttl):
        report.leased = False
        return report
    try:
        blocked: set[tuple[str, str]] = set()
        for entry in outbox.entries("pending", limit=d.batch * 10):
            if report.sent + report.failed >= d.batch:
                break
            now = clock()
            lane = (entry.channel, entry.alert_key)
            if entry.channel in report.skipped_channels or lane in blocked:
                continue
            pause = outbox.meta(f"pause:{entry.channel}")
            if pause and dt.datetime.fromisoformat(pause) > now:
                report.skipped_channels[entry.channel] = f"paused until {pause}"
                continue
            if entry.next_attempt_at > now:
                blocked.add(lane)  # a later entry of this key must not overtake it
                continue
            transport = transports.get(entry.channel)
            if transport is None:
                outbox.mark_failed(entry.id, f"channel {entry.channel!r} is not configured in alerts.yaml", None)
                report.dead += 1
                continue
            if not outbox.lease(owner, now, ttl):
                report.leased = False
                break
            result = transport.send(entry.alert)
            now = clock()
            if result.ok:
                outbox.mark_sent(entry.id, result.response, now)
                outbox.set_meta({f"pause:{entry.channel}": None, f"failures:{entry.channel}": None})
                report.sent += 1
                continue
            report.errors.append(f"{entry.channel}: {result.response}")
            if result.permanent or entry.attempts + 1 >= d.max_attempts:
                outbox.mark_failed(entry.id, result.response, None)
                report.dead += 1
                blocked.discard(lane)
                continue
            fails = int(outbox.meta(f"failures:{entry.channel}", "0") or 0) + 1
            delay = dt.timedelta(seconds=result.retry_after) if result.retry_after is not None else backoff(fails, d)
            retry_at = now + delay
            outbox.mark_failed(entry.id, result.response, retry_at)
            outbox.set_meta({f"pause:{entry.channel}": retry_at.isoformat(), f"failures:{entry.channel}": str(fails)})
            report.failed += 1
            report.skipped_channels[entry.channel] = f"paused until {retry_at.isoformat()}"
        return report
    finally:
        outbox.release(owner)
