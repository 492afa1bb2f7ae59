"""A loopback HTTP server that speaks the OpenAI chat-completions wire protocol, answering with a given function."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def openai_server(
    answer: Callable[[str], str | int], api_key: str | None = None, headers: dict[int, dict[str, str]] | None = None
) -> Iterator[dict]:
    """Serve POST /v1/chat/completions on 127.0.0.1; `answer(prompt)` returns the text or an HTTP status to fail with
    (sent with `headers[status]`, e.g. {429: {"Retry-After": "1"}}); `state["times"]` holds each request's arrival."""
    state: dict = {"requests": 0, "in_flight": 0, "max_in_flight": 0, "auth": set(), "times": []}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep pytest output clean
            pass

        def do_POST(self) -> None:  # http.server's naming
            with lock:
                state["times"].append(time.monotonic())
                state["requests"] += 1
                state["in_flight"] += 1
                state["max_in_flight"] = max(state["max_in_flight"], state["in_flight"])
            try:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                state["auth"].add(self.headers.get("Authorization"))
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                if api_key and self.headers.get("Authorization") != f"Bearer {api_key}":
                    return self._send(401, {"error": {"message": "invalid api key"}})
                out = answer(body["messages"][-1]["content"])
                if isinstance(out, int):
                    return self._send(out, {"error": {"message": "injected failure"}}, (headers or {}).get(out))
                self._send(
                    200,
                    {
                        "id": "chatcmpl-1",
                        "object": "chat.completion",
                        "model": body["model"],
                        "choices": [
                            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": out}}
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    },
                )
            finally:
                with lock:
                    state["in_flight"] -= 1

        def _send(self, status: int, payload: dict, extra: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state["base_url"] = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
