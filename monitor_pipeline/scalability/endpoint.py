"""An OpenAI-compatible `/chat/completions` endpoint as a sweep target: latency and tokens/s per concurrency level."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from monitor_pipeline.errors import ConfigError
from monitor_pipeline.scalability.targets import WORDS, TargetError, Work
from monitor_pipeline.settings.scalability import ScalabilityConfig


class EndpointTarget:
    """`requests_per_repetition` chat completions with `x` in flight; no retries, so a failure is measured, not hidden."""

    sweep, axis, series_key, role = "endpoint", "concurrency", None, "serving"
    device = "remote"

    def __init__(
        self,
        base_url: str,
        model: str,
        concurrency: list[int],
        requests: int,
        prompt_tokens: int,
        max_tokens: int,
        api_key: str | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self.model, self.requests, self.max_tokens, self.timeout_s = model, requests, max_tokens, timeout_s
        self.prompt = " ".join(WORDS[i % len(WORDS)] for i in range(prompt_tokens))
        self._key = api_key
        self.name = f"openai:{model}@{self.base_url}"
        self.grid = [(c, None) for c in concurrency]

    @classmethod
    def from_config(cls, cfg: ScalabilityConfig, env: dict[str, str] | None = None) -> EndpointTarget:
        """The endpoint of `scalability.base_url`; the API key comes from the env var `api_key_env`."""
        if not cfg.base_url:
            raise ConfigError(
                "scalability.base_url: target openai needs the endpoint's base URL (e.g. http://host:8000/v1)"
            )
        key = (env if env is not None else os.environ).get(cfg.api_key_env) or None
        return cls(
            cfg.base_url,
            cfg.model,
            cfg.concurrency,
            cfg.requests_per_repetition,
            cfg.reference_length or cfg.lengths[0],
            cfg.max_tokens,
            key,
            cfg.timeout_s,
        )

    def _clean(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text

    def prepare(self) -> None:
        """Nothing to load; the endpoint is reached per repetition."""

    def _one(self, client: httpx.Client) -> tuple[float, int]:
        body = {
            "model": self.model,
            "messages": [{"role": "user", "content": self.prompt}],
            "max_tokens": self.max_tokens,
            "temperature": 0,
        }
        t = time.perf_counter()
        try:
            r = client.post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise TargetError(self._clean(f"{self.url}: {type(exc).__name__}: {exc}")) from None
        ms = (time.perf_counter() - t) * 1000
        if r.status_code >= 400:
            raise TargetError(self._clean(f"{self.url}: HTTP {r.status_code}: {r.text[:200]}"))
        try:
            data = r.json()
            usage = (data.get("usage") or {}).get("completion_tokens")
            tokens = int(usage) if usage is not None else len((data["choices"][0]["message"]["content"] or "").split())
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise TargetError(self._clean(f"{self.url}: unexpected response body {r.text[:200]!r}")) from None
        return ms, tokens

    def call(self, x: int, series: int | None) -> Callable[[], Work]:
        """One repetition: `requests` completions through a pool of x connections and x threads."""
        n = max(self.requests, x)  # every worker gets at least one request at each level

        def run() -> Work:
            headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
            limits = httpx.Limits(max_connections=x, max_keepalive_connections=x)
            with (
                httpx.Client(timeout=self.timeout_s, headers=headers, limits=limits) as client,
                ThreadPoolExecutor(max_workers=x) as pool,
            ):
                out = list(pool.map(lambda _: self._one(client), range(n)))
            return Work(items=n, tokens=sum(t for _, t in out), latencies_ms=[ms for ms, _ in out])

        return run
