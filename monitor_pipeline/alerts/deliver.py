"""Delivery passes over the outbox: order per key, threads per key, backoff with Retry-After, dead-letter, one deliverer.

Threads: a `firing` message sent through a transport that threads (the Web API) opens its key's thread in that channel;
its `ts` is kept in the outbox meta (`thread:<channel>:<key>`) and every later message of the key replies under it,
until the `resolved` reply closes it. A webhook cannot thread: the first follow-up it posts says so once, as a note.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from monitor_pipeline.alerts.config import Delivery
from monitor_pipeline.alerts.outbox import Entry, Outbox
from monitor_pipeline.alerts.slack import FOLLOW_UPS, NO_THREAD_NOTE, SendResult, Thread, Transport
from monitor_pipeline.backoff import delay_s

log = logging.getLogger(__name__)

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
    notes: list[str] = field(default_factory=list)  # said once per outbox (a webhook cannot thread)
    leased: bool = True

    def as_dict(self) -> dict:
        """JSON-ready."""
        return {
            "sent": self.sent,
            "failed": self.failed,
            "dead": self.dead,
            "skipped_channels": self.skipped_channels,
            "errors": self.errors[-5:],
            "notes": self.notes,
            "leased": self.leased,
        }


def backoff(attempts: int, d: Delivery, retry_after: float | None = None) -> dt.timedelta:
    """Delay before retry number `attempts` (1, 2, ...): Retry-After plus jitter, else base x 2^(n-1) capped, jittered
    (the rule of `monitor_pipeline.backoff`, shared with the probe target)."""
    return dt.timedelta(
        seconds=delay_s(attempts, d.backoff.total_seconds(), d.backoff_max.total_seconds(), retry_after)
    )


def thread_meta(channel: str, alert_key: str) -> str:
    """The outbox meta name holding the open thread of `alert_key` in `channel`."""
    return f"thread:{channel}:{alert_key}"


def _thread_for(outbox: Outbox, entry: Entry, transport: Transport, report: DeliveryReport) -> Thread | None:
    """The thread this entry replies in: its key's open one for a follow-up; a new one (None) for `firing`."""
    if entry.kind not in FOLLOW_UPS:
        return None
    if transport.threads:
        return Thread.from_json(outbox.meta(thread_meta(entry.channel, entry.alert_key)))
    noted = f"note:no_thread:{entry.channel}"
    if transport.name == "webhook" and not outbox.meta(noted):
        note = NO_THREAD_NOTE.format(channel=entry.channel)
        log.warning(note)
        report.notes.append(note)
        outbox.set_meta({noted: "1"})
    return None


def _keep_thread(outbox: Outbox, entry: Entry, thread: Thread | None, result: SendResult) -> None:
    """After a sent message: a first message opens the key's thread, a `resolved` reply closes it."""
    name = thread_meta(entry.channel, entry.alert_key)
    if entry.kind == "resolved":
        outbox.set_meta({name: None})
    elif result.ts and result.channel and (thread is None or result.thread_ts is None):
        # a firing message, a follow-up whose firing message was never delivered, or one Slack lost the thread of
        outbox.set_meta({name: Thread(result.ts, result.channel).to_json()})


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
            thread = _thread_for(outbox, entry, transport, report)
            result = transport.send(entry.alert, thread)
            now = clock()
            if result.ok:
                if transport.threads:
                    _keep_thread(outbox, entry, thread, result)
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
            retry_at = now + backoff(fails, d, result.retry_after)
            outbox.mark_failed(entry.id, result.response, retry_at)
            outbox.set_meta({f"pause:{entry.channel}": retry_at.isoformat(), f"failures:{entry.channel}": str(fails)})
            report.failed += 1
            report.skipped_channels[entry.channel] = f"paused until {retry_at.isoformat()}"
        return report
    finally:
        outbox.release(owner)
