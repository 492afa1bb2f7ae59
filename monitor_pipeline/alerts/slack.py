"""Block Kit messages and the three ways to send them: an incoming webhook, the Web API, a local JSONL file.

Secrets (webhook URLs, tokens) are registered with `scrub` when a transport is built; every error text and every
record of the slack_sdk loggers passes through it, so they never reach a log line, a Dagster event or the outbox.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from monitor_pipeline.alerts.model import Alert
from monitor_pipeline.backoff import delay_s, retry_after_s
from monitor_pipeline.escape import console_text, slack_code, slack_link, slack_text

_SECRETS: set[str] = set()
_EMOJI = {"info": ":information_source:", "warning": ":warning:", "critical": ":rotating_light:"}
_STATE_EMOJI = {"resolved": ":white_check_mark:", "flapping": ":left_right_arrow:"}


def register_secret(value: str | None) -> None:
    """Never show `value` (nor a webhook URL's path) in any text that `scrub` cleans."""
    if value and len(value) >= 6:
        _SECRETS.add(value)
        path = urlsplit(value).path
        if value.startswith("http") and len(path) > 8:
            _SECRETS.add(path)


def scrub(text: str) -> str:
    """`text` with every registered secret replaced by ***."""
    for s in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(s, "***")
    return text


class _ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        clean = scrub(msg)
        if clean != msg:
            record.msg, record.args = clean, None
        return True


for _name in ("slack_sdk", "slack_sdk.webhook.client", "slack_sdk.web.base_client", "slack_sdk.http_retry"):
    logging.getLogger(_name).addFilter(_ScrubFilter())


FOLLOW_UPS = ("renotify", "escalated", "resolved", "flapping")  # kinds that reply in the open thread of their key


def run_links(alert: Alert, dagster_url: str | None = None, mlflow_url: str | None = None) -> dict[str, str]:
    """The Dagster run and MLflow run pages an alert is about, where known (stored URL, else base URL + ids)."""
    out: dict[str, str] = {}
    dagster = alert.dagster_run_url or (
        dagster_url and alert.dagster_run_id and f"{dagster_url.rstrip('/')}/runs/{alert.dagster_run_id}"
    )
    if dagster:
        out["Dagster run"] = dagster
    run, exp = alert.detail.get("mlflow_run_id"), alert.detail.get("mlflow_experiment_id")
    mlflow = alert.mlflow_run_url or (
        mlflow_url and run and exp and f"{mlflow_url.rstrip('/')}/#/experiments/{exp}/runs/{run}"
    )
    if mlflow:
        out["MLflow run"] = str(mlflow)
    return out


def blocks(
    alert: Alert, dagster_url: str | None = None, threaded: bool = False, mlflow_url: str | None = None
) -> dict[str, Any]:
    """The Block Kit payload: header, summary, fields (severity, state, key, value, threshold, window), links.

    A reply in the alert's thread (`threaded`) drops the header and the key: the thread's first message shows them.
    """
    # Title, key, source and body carry data (model names, user ids, log text): escaped, they form no mention, link or
    # command; the <url|label> links and *bold* labels are ours. `verbatim` stops Slack linking bare URLs and channels.
    emoji = _STATE_EMOJI.get(alert.state, _EMOJI[alert.severity])
    title = slack_text(alert.title)
    head = f"{'RESOLVED' if alert.state == 'resolved' else alert.severity.upper()}: {title}"
    fields: list[tuple[str, str]] = [("Severity", alert.severity), ("State", alert.kind)]
    if not threaded:
        fields += [("Key", f"`{slack_code(alert.key)}`"), ("Source", slack_text(alert.source))]
    fields += [
        (n, slack_text(alert.number(v)))
        for n, v in (("Value", alert.value), ("Threshold", alert.threshold), ("Expected", alert.expected))
        if v is not None
    ]
    if alert.window_start or alert.window_end:
        fields.append(("Window", f"{_t(alert.window_start)} → {_t(alert.window_end)}"))
    links = [slack_link(url, label) for label, url in run_links(alert, dagster_url, mlflow_url).items()]
    summary = slack_text(alert.body())[:3000]
    out: list[dict[str, Any]] = []
    if threaded:
        summary = f"{emoji} {summary}"
    else:
        out.append({"type": "header", "text": {"type": "plain_text", "text": f"{emoji} {head}"[:150], "emoji": True}})
    out += [
        {"type": "section", "text": _mrkdwn(summary)},
        {"type": "section", "fields": [_mrkdwn(f"*{n}*\n{v}"[:2000]) for n, v in fields if v][:10]},
    ]
    context = " · ".join(links + [f"at {_t(alert.at)}", f"id {alert.idempotency_key}"])
    out.append({"type": "context", "elements": [_mrkdwn(context)]})
    return {"text": f"{alert.severity.upper()} {alert.kind}: {title}"[:3000], "blocks": out}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _t(t: Any) -> str:
    return "" if t is None else t.isoformat(timespec="minutes").replace("+00:00", "Z")


@dataclass(frozen=True)
class Thread:
    """The first message of an alert's open incident in one channel: replies go under it (`thread_ts`)."""

    ts: str
    channel: str  # the channel ID Slack answered with (a name like #alerts may be renamed; the ID is stable)

    def to_json(self) -> str:
        """Stored in the outbox meta."""
        return json.dumps({"ts": self.ts, "channel": self.channel})

    @classmethod
    def from_json(cls, text: str | None) -> Thread | None:
        """Inverse of `to_json`; None for nothing stored."""
        if not text:
            return None
        d = json.loads(text)
        return cls(str(d["ts"]), str(d["channel"]))


@dataclass
class SendResult:
    """What a send did: ok (with the message's `ts` and channel where Slack gives them), or a failure that is
    retried (after `retry_after` seconds for a 429) or permanent; `error` is Slack's own error string."""

    ok: bool
    response: str
    status: int | None = None
    retry_after: float | None = None
    permanent: bool = False
    ts: str | None = None
    channel: str | None = None
    error: str | None = None
    thread_ts: str | None = None  # the thread it replied in; None: a message of its own


class Transport(Protocol):
    """Sends one alert; `threads` says whether `thread` is honoured (a webhook cannot reply in a thread)."""

    name: str
    threads: bool

    def send(self, alert: Alert, thread: Thread | None = None) -> SendResult: ...


def _http_result(status: int, body: str, headers: dict[str, Any]) -> SendResult:
    if 200 <= status < 300:
        return SendResult(True, scrub(f"{status} {body}")[:500], status)
    if status == 429:
        return SendResult(False, scrub(f"429 rate limited: {body}")[:500], status, retry_after=retry_after_s(headers))
    return SendResult(
        False, scrub(f"HTTP {status}: {body}")[:500], status, permanent=400 <= status < 500 and status != 408
    )


def _error(exc: BaseException) -> SendResult:
    return SendResult(False, scrub(f"{type(exc).__name__}: {exc}")[:500])


NO_THREAD_NOTE = (
    "Slack incoming webhooks cannot reply in a thread: follow-ups (still firing, escalated, resolved) of channel "
    "{channel} are posted as new messages. Give the channel a bot token (its token_env in alerts.yaml, default "
    "SLACK_BOT_TOKEN; scope chat:write) to thread them."
)


class WebhookTransport:
    """An incoming webhook through slack-sdk's WebhookClient (its own retries off: the outbox retries).

    A webhook answers `ok`, not a message `ts`, so it cannot thread: every message stands alone, with its key.
    """

    name = "webhook"
    threads = False

    def __init__(
        self, url: str, timeout_s: float = 10.0, dagster_url: str | None = None, mlflow_url: str | None = None
    ) -> None:
        register_secret(url)
        from slack_sdk.webhook import WebhookClient

        self._client = WebhookClient(url, timeout=timeout_s, retry_handlers=[])  # type: ignore[arg-type]
        self._dagster_url, self._mlflow_url = dagster_url, mlflow_url

    def send(self, alert: Alert, thread: Thread | None = None) -> SendResult:
        """POST the Block Kit payload (`thread` is ignored: a webhook cannot thread)."""
        try:
            resp = self._client.send_dict(blocks(alert, self._dagster_url, mlflow_url=self._mlflow_url))
        except Exception as exc:  # noqa: BLE001 - any transport error is a retryable failure, reported scrubbed
            return _error(exc)
        return _http_result(resp.status_code, resp.body or "", dict(resp.headers or {}))


# Slack's ok:false errors that a later try may fix (docs.slack.dev, chat.postMessage "Errors"); any other one
# (channel_not_found, invalid_auth, not_in_channel, missing_scope, ...) needs a person: dead-letter at once.
RETRYABLE_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
_LOST_THREAD = {"thread_not_found", "message_not_found", "invalid_thread_ts"}


class _BriefRateLimitRetry(RateLimitErrorRetryHandler):
    """slack_sdk's 429 handler, only for a Retry-After of at most `max_wait_s` (longer: the outbox pauses the
    channel), waiting by the shared rule (`backoff.delay_s`: Retry-After plus jitter)."""

    def __init__(self, max_wait_s: float) -> None:
        super().__init__(max_retry_count=1)
        self.max_wait_s = max_wait_s

    def _can_retry(self, *, state: Any, request: Any, response: Any = None, error: Any = None) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = retry_after_s(response.headers)
        return wait is not None and wait <= self.max_wait_s

    def prepare_for_next_attempt(self, *, state: Any, request: Any, response: Any = None, error: Any = None) -> None:
        wait = retry_after_s(response.headers) if response is not None else None
        state.next_attempt_requested = True
        time.sleep(delay_s(state.current_attempt + 1, 1.0, self.max_wait_s, wait))
        state.increment_current_attempt()


class WebApiTransport:
    """chat.postMessage with a bot token, through slack_sdk's WebClient (the client dagster-slack's resource wraps).

    Replies go under the alert's first message (`thread_ts`); `reply_broadcast` kinds are also shown in the channel.
    """

    name = "web_api"
    threads = True

    def __init__(
        self,
        token: str,
        channel: str,
        timeout_s: float = 10.0,
        dagster_url: str | None = None,
        base_url: str | None = None,
        mlflow_url: str | None = None,
        reply_broadcast: Iterable[str] = ("escalated", "resolved"),
        inline_retry_max_s: float = 5.0,
    ) -> None:
        register_secret(token)
        from slack_sdk import WebClient

        self._client = WebClient(token=token)
        self._client.timeout = int(max(1, timeout_s))
        # Only short rate-limit waits are retried in place; everything else is the outbox's (backoff across ticks).
        self._client.retry_handlers = [_BriefRateLimitRetry(inline_retry_max_s)] if inline_retry_max_s > 0 else []
        if base_url:
            self._client.base_url = base_url
        self._channel, self._dagster_url, self._mlflow_url = channel, dagster_url, mlflow_url
        self._broadcast = set(reply_broadcast)

    def send(self, alert: Alert, thread: Thread | None = None) -> SendResult:
        """Post to the channel, or as a reply in `thread`; a thread Slack no longer knows gets a new first message."""
        result = self._post(alert, thread)
        if thread is not None and result.error in _LOST_THREAD:
            return self._post(alert, None)
        return result

    def _post(self, alert: Alert, thread: Thread | None) -> SendResult:
        from slack_sdk.errors import SlackApiError

        args: dict[str, Any] = {"channel": self._channel}
        if thread is not None:
            args = {"channel": thread.channel, "thread_ts": thread.ts}
            if alert.kind in self._broadcast:
                args["reply_broadcast"] = True
        try:
            resp = self._client.chat_postMessage(
                **args, **blocks(alert, self._dagster_url, thread is not None, self._mlflow_url)
            )
        except SlackApiError as exc:
            r = exc.response
            if r.status_code == 200:  # ok=false: Slack's error string says what is wrong
                err = str(r.get("error") or "unknown_error")
                return SendResult(
                    False, scrub(f"Slack API error: {err}"), 200, permanent=err not in RETRYABLE_ERRORS, error=err
                )
            return _http_result(r.status_code, scrub(str(r.data))[:300], dict(r.headers or {}))
        except Exception as exc:  # noqa: BLE001 - the same for the Web API client
            return _error(exc)
        ts, channel = resp.get("ts"), resp.get("channel")
        where = f" thread_ts={thread.ts}" if thread else ""
        return SendResult(
            True,
            f"{resp.status_code} ts={ts} channel={channel}{where}",
            resp.status_code,
            ts=str(ts) if ts else None,
            channel=str(channel) if channel else None,
            thread_ts=thread.ts if thread else None,
        )


class LocalTransport:
    """No Slack configured: one JSON line per alert in a file under the data dir, and one line on the console."""

    name = "local"
    threads = False

    def __init__(
        self,
        path: str | Path,
        channel: str,
        console: Callable[[str], None] | None = print,
        dagster_url: str | None = None,
        mlflow_url: str | None = None,
    ) -> None:
        self.path, self._channel, self._console = Path(path), channel, console
        self._dagster_url, self._mlflow_url = dagster_url, mlflow_url

    def send(self, alert: Alert, thread: Thread | None = None) -> SendResult:
        """Append the message to the file and say it on the console."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(
                json.dumps(
                    {
                        "channel": self._channel,
                        "alert": alert.to_json(),
                        **blocks(alert, self._dagster_url, mlflow_url=self._mlflow_url),
                    },
                    default=str,
                )
                + "\n"
            )
        if self._console:
            line = f"[alert {self._channel}] {alert.severity.upper():<8} {alert.kind:<9} {alert.key}: {alert.body()}"
            self._console(console_text(line))  # no terminal control sequence from the data
        return SendResult(True, f"appended to {self.path.name}")
