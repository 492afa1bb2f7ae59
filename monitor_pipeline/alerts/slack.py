"""Block Kit messages and the three ways to send them: an incoming webhook, the Web API, a local JSONL file.

Secrets (webhook URLs, tokens) are registered with `scrub` when a transport is built; every error text and every
record of the slack_sdk loggers passes through it, so they never reach a log line, a Dagster event or the outbox.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from monitor_pipeline.alerts.model import Alert
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


def blocks(alert: Alert, dagster_url: str | None = None) -> dict[str, Any]:
    """The Block Kit payload: header, summary, fields (severity, state, key, value, threshold, window), links."""
    # Title, key, source and body carry data (model names, user ids, log text): escaped, they form no mention, link or
    # command; the <url|label> links and *bold* labels are ours. `verbatim` stops Slack linking bare URLs and channels.
    emoji = _STATE_EMOJI.get(alert.state, _EMOJI[alert.severity])
    title = slack_text(alert.title)
    head = f"{'RESOLVED' if alert.state == 'resolved' else alert.severity.upper()}: {title}"
    fields = [
        ("Severity", alert.severity),
        ("State", alert.kind),
        ("Key", f"`{slack_code(alert.key)}`"),
        ("Source", slack_text(alert.source)),
    ]
    fields += [
        (n, f"{v:.4g}")
        for n, v in (("Value", alert.value), ("Threshold", alert.threshold), ("Expected", alert.expected))
        if v is not None
    ]
    if alert.window_start or alert.window_end:
        fields.append(("Window", f"{_t(alert.window_start)} → {_t(alert.window_end)}"))
    links = []
    run_url = alert.dagster_run_url or (
        dagster_url and alert.dagster_run_id and f"{dagster_url.rstrip('/')}/runs/{alert.dagster_run_id}"
    )
    if run_url:
        links.append(slack_link(run_url, "Dagster run"))
    if alert.mlflow_run_url:
        links.append(slack_link(alert.mlflow_run_url, "MLflow run"))
    out: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"{emoji} {head}"[:150], "emoji": True}},
        {"type": "section", "text": _mrkdwn(slack_text(alert.body())[:3000])},
        {"type": "section", "fields": [_mrkdwn(f"*{n}*\n{v}"[:2000]) for n, v in fields if v][:10]},
    ]
    context = " · ".join(links + [f"at {_t(alert.at)}", f"id {alert.idempotency_key}"])
    out.append({"type": "context", "elements": [_mrkdwn(context)]})
    return {"text": f"{alert.severity.upper()} {alert.kind}: {title}"[:3000], "blocks": out}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _t(t: Any) -> str:
    return "" if t is None else t.isoformat(timespec="minutes").replace("+00:00", "Z")


@dataclass
class SendResult:
    """What a send did: ok, or a failure that is retried (after `retry_after` seconds for a 429) or permanent."""

    ok: bool
    response: str
    status: int | None = None
    retry_after: float | None = None
    permanent: bool = False


class Transport(Protocol):
    """Sends one alert."""

    name: str

    def send(self, alert: Alert) -> SendResult: ...


def _http_result(status: int, body: str, headers: dict[str, Any]) -> SendResult:
    if 200 <= status < 300:
        return SendResult(True, scrub(f"{status} {body}")[:500], status)
    if status == 429:
        ra = {k.lower(): v for k, v in headers.items()}.get("retry-after")
        try:
            after = float(ra[0] if isinstance(ra, list) else ra) if ra is not None else None
        except ValueError:
            after = None
        return SendResult(False, scrub(f"429 rate limited: {body}")[:500], status, retry_after=after)
    return SendResult(
        False, scrub(f"HTTP {status}: {body}")[:500], status, permanent=400 <= status < 500 and status != 408
    )


def _error(exc: BaseException) -> SendResult:
    return SendResult(False, scrub(f"{type(exc).__name__}: {exc}")[:500])


class WebhookTransport:
    """An incoming webhook through slack-sdk's WebhookClient (its own retries off: the outbox retries)."""

    name = "webhook"

    def __init__(self, url: str, timeout_s: float = 10.0, dagster_url: str | None = None) -> None:
        register_secret(url)
        from slack_sdk.webhook import WebhookClient

        self._client = WebhookClient(url, timeout=timeout_s, retry_handlers=[])  # type: ignore[arg-type]
        self._dagster_url = dagster_url

    def send(self, alert: Alert) -> SendResult:
        """POST the Block Kit payload."""
        try:
            resp = self._client.send_dict(blocks(alert, self._dagster_url))
        except Exception as exc:  # noqa: BLE001 - any transport error is a retryable failure, reported scrubbed
            return _error(exc)
        return _http_result(resp.status_code, resp.body or "", dict(resp.headers or {}))


class WebApiTransport:
    """chat.postMessage with a bot token, through slack_sdk's WebClient (the client dagster-slack's resource wraps)."""

    name = "web_api"

    def __init__(
        self,
        token: str,
        channel: str,
        timeout_s: float = 10.0,
        dagster_url: str | None = None,
        base_url: str | None = None,
    ) -> None:
        register_secret(token)
        from slack_sdk import WebClient

        self._client = WebClient(token=token)
        self._client.timeout = int(max(1, timeout_s))
        self._client.retry_handlers = []
        if base_url:
            self._client.base_url = base_url
        self._channel, self._dagster_url = channel, dagster_url

    def send(self, alert: Alert) -> SendResult:
        """Post to the channel."""
        from slack_sdk.errors import SlackApiError

        try:
            resp = self._client.chat_postMessage(channel=self._channel, **blocks(alert, self._dagster_url))
        except SlackApiError as exc:
            r = exc.response
            if r.status_code == 200:  # ok=false: an API error (channel_not_found, invalid_auth...) retrying won't fix
                return SendResult(False, scrub(f"Slack API error: {r.get('error')}"), 200, permanent=True)
            return _http_result(r.status_code, scrub(str(r.data))[:300], dict(r.headers or {}))
        except Exception as exc:  # noqa: BLE001 - the same for the Web API client
            return _error(exc)
        return SendResult(True, f"{resp.status_code} ts={resp.get('ts')}", resp.status_code)


class LocalTransport:
    """No Slack configured: one JSON line per alert in a file under the data dir, and one line on the console."""

    name = "local"

    def __init__(self, path: str | Path, channel: str, console: Callable[[str], None] | None = print) -> None:
        self.path, self._channel, self._console = Path(path), channel, console

    def send(self, alert: Alert) -> SendResult:
        """Append the message to the file and say it on the console."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(
                json.dumps({"channel": self._channel, "alert": alert.to_json(), **blocks(alert)}, default=str) + "\n"
            )
        if self._console:
            line = f"[alert {self._channel}] {alert.severity.upper():<8} {alert.kind:<9} {alert.key}: {alert.body()}"
            self._console(console_text(line))  # no terminal control sequence from the data
        return SendResult(True, f"appended to {self.path.name}")
