"""A loopback stand-in for Slack's incoming webhooks and chat.postMessage, with scriptable failures.

Modes: ok (200), 429 (with Retry-After), 500, 404 (a revoked webhook), hang (no answer until past the client's timeout, then the
connection drops), refuse (the port is closed: connection refused), api_error (200 with ok:false and `api_error`).
`next_modes` answers the next requests with those modes first (e.g. one 429, then back to `mode`).

chat.postMessage (`/api/chat.postMessage`) works like Slack's: the bot token must be `token` (else ok:false
invalid_auth / not_authed), the channel a known name or ID (else channel_not_found), a `thread_ts` one of its messages
(else thread_not_found); it answers ok with a new `ts` and the channel's ID. Only answered-ok messages count as delivered.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class SlackServer:
    """Start with `start()`, switch behaviour with `mode`, read `delivered` (bodies answered 200, in order)."""

    def __init__(
        self, clock: Callable[[], Any] | None = None, hang_s: float = 1.5, token: str = "xoxb-0000-1111-l00pB0tT0k3n"
    ) -> None:
        self.mode, self.retry_after, self.hang_s, self.clock = "ok", 60, hang_s, clock or time.time
        self.token, self.api_error = token, "internal_error"
        self.next_modes: list[str] = []
        self.channels = {"#alerts": "C0ALERTS", "#t": "C0T", "#llm-alerts": "C0LLM", "#llm-security": "C0SEC"}
        self.messages: dict[str, list[str]] = {}  # channel ID -> ts of its messages
        self._ts = 1795000000.000100
        self.delivered: list[dict] = []
        self.requests: list[tuple[Any, str]] = []  # (clock time, mode answered)
        self.port = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """An incoming-webhook-like URL with a secret path."""
        return f"http://127.0.0.1:{self.port}/services/T0LOOP/B0LOOP/s3cr3tW3bh00kT0k3n"

    @property
    def api_url(self) -> str:
        """The Web API base URL (slack_sdk's `base_url`, or env SLACK_API_BASE_URL)."""
        return f"http://127.0.0.1:{self.port}/api/"

    def bot_env(self) -> dict[str, str]:
        """The env a channel needs to post here through the Web API with a bot token."""
        return {"SLACK_BOT_TOKEN": self.token, "SLACK_API_BASE_URL": self.api_url}

    def start(self) -> SlackServer:
        """Listen (on the same port again after a `refuse` period)."""
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with server._lock:
                    mode = server.next_modes.pop(0) if server.next_modes else server.mode
                    server.requests.append((server.clock(), mode))
                if mode == "hang":
                    time.sleep(server.hang_s)
                    self.close_connection = True
                    return
                if mode == "429":
                    self._answer(429, b"rate_limited", {"Retry-After": str(server.retry_after)})
                elif mode == "500":
                    self._answer(500, b"internal_error")
                elif mode == "404":
                    self._answer(404, b"no_service")
                elif mode == "api_error":
                    self._answer(200, json.dumps({"ok": False, "error": server.api_error}).encode())
                else:
                    try:
                        data = json.loads(body)
                    except ValueError:
                        data = dict(x.split("=", 1) for x in body.decode().split("&") if "=" in x)
                    if self.path.startswith("/api/"):
                        return self._post_message(data)
                    with server._lock:
                        server.delivered.append(data)
                    self._answer(200, b"ok")

            def _post_message(self, data: dict) -> None:
                auth = self.headers.get("Authorization") or ""
                if not self.path.endswith("/chat.postMessage"):
                    return self._api({"ok": False, "error": "unknown_method"})
                if not auth:
                    return self._api({"ok": False, "error": "not_authed"})
                if auth != f"Bearer {server.token}":
                    return self._api({"ok": False, "error": "invalid_auth"})
                name = data.get("channel", "")
                channel = server.channels.get(name, name if name in server.channels.values() else None)
                if channel is None:
                    return self._api({"ok": False, "error": "channel_not_found"})
                with server._lock:
                    thread = data.get("thread_ts")
                    if thread and thread not in server.messages.get(channel, []):
                        return self._api({"ok": False, "error": "thread_not_found"})
                    server._ts += 0.0001
                    ts = f"{server._ts:.6f}"
                    server.messages.setdefault(channel, []).append(ts)
                    server.delivered.append({**data, "ts": ts, "channel_id": channel})
                self._api({"ok": True, "channel": channel, "ts": ts, "message": {"ts": ts, "thread_ts": thread}})

            def _api(self, payload: dict) -> None:
                self._answer(200, json.dumps(payload).encode(), {"Content-Type": "application/json; charset=utf-8"})

            def _answer(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        ThreadingHTTPServer.allow_reuse_address = True
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Close the port (clients now get connection refused)."""
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def set(self, mode: str) -> None:
        """Switch to a mode; `refuse` closes the port, any other reopens it."""
        if mode == "refuse":
            self.stop()
        elif self._httpd is None:
            self.start()
        self.mode = mode


_ID = re.compile(r"id ([0-9a-f]{24})")


def message_id(body: dict) -> str:
    """The idempotency key a delivered Block Kit message carries in its context line."""
    return _ID.search(str(body.get("blocks"))).group(1)


T0 = dt.datetime(2026, 11, 18, tzinfo=dt.UTC)


class Clock:
    """A clock the test moves; sensors, delivery and the server read it."""

    def __init__(self, t: dt.datetime = T0) -> None:
        self.t = t

    def __call__(self) -> dt.datetime:
        return self.t

    def advance(self, **kw: float) -> None:
        self.t += dt.timedelta(**kw)
