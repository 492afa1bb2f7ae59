"""A failed pipeline run as an observation, and why it failed as one line that is safe to post."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from monitor_pipeline.alerts.model import Observation
from monitor_pipeline.alerts.slack import scrub

CAUSE_CHARS = 400
_QUALIFIED = re.compile(r"^(?:[A-Za-z_][\w]*\.)+([A-Za-z_]\w*): ")
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/@:]+:[^\s/@]+@")


def run_failure(
    job_name: str,
    run_id: str,
    partition: str | None,
    message: str | None,
    dagster_url: str,
    now: dt.datetime,
    cause: str | None = None,
) -> Observation:
    """A failed run as a critical observation keyed by its job; `cause` (see `failure_cause`) ends the title."""
    title = f"run of {job_name} failed" + (f" for {partition}" if partition else "") + (f": {cause}" if cause else "")
    return Observation(
        rule="dagster.run_failure",
        entity=job_name,
        severity="critical",
        bad=True,
        at=now,
        title=title,
        source="dagster",
        wall_clock=True,
        detail={"error": cause or safe_line(message or ""), "partition": partition},
        dagster_run_id=run_id,
        dagster_run_url=f"{dagster_url.rstrip('/')}/runs/{run_id}",
    )


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

    The events are Dagster's (`event_specific_data.error` with `message` and `cause`), read by attribute.
    """
    for event in [*step_failures, run_failure_event]:
        error = _user_error(getattr(getattr(event, "event_specific_data", None), "error", None))
        if error is not None:
            text = _QUALIFIED.sub(lambda m: "" if m[1] == "Failure" else f"{m[1]}: ", error.message.lstrip(), count=1)
            return safe_line(text) or None
    message = getattr(run_failure_event, "message", None)
    return (safe_line(message) or None) if message else None
