"""What the alert sensor reads from Dagster: asset check evaluations not seen yet, and failed runs."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from typing import Any

import dagster as dg

from monitor_pipeline.alerts.cycle import CHECKS_CURSOR, CHECKS_DONE
from monitor_pipeline.alerts.model import Observation
from monitor_pipeline.alerts.outbox import Outbox
from monitor_pipeline.alerts.slack import scrub
from monitor_pipeline.alerts.transitions import from_check


def _plain(v: Any) -> Any:
    return getattr(v, "value", v)


def new_check_evaluations(instance: dg.DagsterInstance, check_keys: Iterable[dg.AssetCheckKey], outbox: Outbox,
                          now: dt.datetime, per_check: int = 200) -> tuple[list[Observation], dict[str, str]]:
    """Evaluations of the checks not seen yet, as observations (failed: bad, passed: resolves), oldest first.

    The cursor is a low-water mark of execution-record ids plus the ids done above it: a record is created when its
    run is planned and filled in when the check ends, so ids do not complete in order.
    """
    low = int(outbox.meta(CHECKS_CURSOR, "0") or 0)
    done = set(json.loads(outbox.meta(CHECKS_DONE, "[]") or "[]"))
    pending, fresh = [], []
    stale = now.timestamp() - 86400  # a record still planned after a day belongs to a run that died: stop waiting
    for key in check_keys:
        for rec in instance.event_log_storage.get_asset_check_execution_history(key, limit=per_check):
            if rec.id <= low or rec.id in done:
                continue
            if rec.status.value in ("SUCCEEDED", "FAILED") and rec.event is not None:
                fresh.append(rec)
            elif rec.status.value == "PLANNED" and rec.create_timestamp > stale:
                pending.append(rec.id)
    fresh.sort(key=lambda r: r.id)
    ids = sorted(done | {r.id for r in fresh})
    new_low = min(pending) - 1 if pending else max(ids, default=low)
    out, partitions = [], {}
    for rec in fresh:
        entry = rec.event
        ev = entry.dagster_event.event_specific_data
        partition = ev.partition or rec.partition
        if partition is None and entry.run_id:
            if entry.run_id not in partitions:
                run = instance.get_run_by_id(entry.run_id)
                partitions[entry.run_id] = run.tags.get("dagster/partition") if run else None
            partition = partitions[entry.run_id]
        meta = {k: _plain(v) for k, v in ev.metadata.items()}
        out.append(from_check(ev.asset_key.to_user_string(), ev.check_name, ev.passed, ev.severity.value, partition,
                              entry.timestamp, entry.run_id, meta, now))
    if not fresh and new_low == low:
        return out, {}
    return out, {CHECKS_CURSOR: str(max(new_low, low)), CHECKS_DONE: json.dumps([i for i in ids if i > new_low])}


def run_failure(run: dg.DagsterRun, message: str | None, dagster_url: str, now: dt.datetime,
                cause: str | None = None) -> Observation:
    """A failed run as a critical observation keyed by its job; `cause` (see `failure_cause`) ends the title."""
    partition = run.tags.get("dagster/partition")
    title = f"run of {run.job_name} failed" + (f" for {partition}" if partition else "") + (f": {cause}" if cause else "")
    return Observation(rule="dagster.run_failure", entity=run.job_name, severity="critical", bad=True, at=now, title=title,
                       source="dagster", wall_clock=True,
                       detail={"error": cause or safe_line(message or ""), "partition": partition},
                       dagster_run_id=run.run_id, dagster_run_url=f"{dagster_url.rstrip('/')}/runs/{run.run_id}")


CAUSE_CHARS = 400
_QUALIFIED = re.compile(r"^(?:[A-Za-z_][\w]*\.)+([A-Za-z_]\w*): ")
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/@:]+:[^\s/@]+@")


def safe_line(text: str, limit: int = CAUSE_CHARS) -> str:
    """The first non-blank line of `text`, safe to post: registered secrets (webhook URL, token), credentials in URLs,
    PII and API keys replaced; at most `limit` chars. (Each sink escapes it for its markup.)"""
    from monitor_pipeline.security.redact import redact_text

    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = " ".join((redact_text(_URL_CREDENTIALS.sub(r"\1***@", scrub(line))) or "").split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _user_error(error: Any) -> Any:
    """The first error in a cause chain that is not Dagster's wrapper ("Error occurred while executing op ...")."""
    while error is not None and error.message.startswith("dagster._core.errors.") and error.cause is not None:
        error = error.cause
    return error


def failure_cause(step_failures: Iterable[Any], run_failure_event: Any = None) -> str | None:
    """One safe line saying why a run failed: the first failed step's own error (`EngineError: the DuckDB warehouse
    ... is locked by ...`), else the run failure's error, else its message; the module path of the class is dropped.
    """
    for event in [*step_failures, run_failure_event]:
        error = _user_error(getattr(getattr(event, "event_specific_data", None), "error", None))
        if error is not None:
            text = _QUALIFIED.sub(lambda m: "" if m[1] == "Failure" else f"{m[1]}: ", error.message.lstrip(), count=1)
            return safe_line(text) or None
    message = getattr(run_failure_event, "message", None)
    return (safe_line(message) or None) if message else None
