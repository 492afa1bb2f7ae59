"""Targets that answer probes: any OpenAI-compatible chat endpoint (httpx), or the embedded MiniLM zero-shot classifier."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
import numpy as np

from monitor_pipeline.backoff import delay_s, retry_after_s
from monitor_pipeline.drift_quality.probes.sets import ProbeSet
from monitor_pipeline.errors import ConfigError, MonitorError

if TYPE_CHECKING:
    from monitor_pipeline.settings.drift_quality import ProbeTargetConfig

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class TargetUnavailable(MonitorError):
    """The target could not answer every probe; the message names the URL and never the API key."""

    def __init__(self, message: str, url: str = "") -> None:
        super().__init__(message)
        self.url = url  # the endpoint that failed


@dataclass
class Answer:
    """A target's answer to one probe."""

    text: str
    latency_ms: float
    probs: dict[str, float] = field(default_factory=dict)  # class probabilities, where the target yields them


class LocalIntentTarget:
    """Zero-shot intent classification: the label whose description embeds closest to the input (all-MiniLM-L6-v2)."""

    name = "local:all-MiniLM-L6-v2"
    url = "local://all-MiniLM-L6-v2"

    def __init__(self, temperature: float = 0.05) -> None:
        self.temperature = temperature  # softmax temperature over cosine similarities, for calibrated-ish scores

    def answer(self, probe_set: ProbeSet) -> list[Answer]:
        """Classify every probe's input among the set's labels."""
        from monitor_pipeline.drift_quality.embeddings import encode

        if not probe_set.labels:
            raise ValueError(f"{probe_set.path.parent / 'set.yaml'}: the local target needs `labels` with descriptions")
        labels = list(probe_set.labels)
        t = time.perf_counter()
        # The label name carries meaning too ("password_reset"): prefix it to its description.
        lab = encode([f"{x.replace('_', ' ')}: {d}" for x, d in probe_set.labels.items()])
        emb = encode([p.input for p in probe_set.probes])
        sims = emb @ lab.T
        z = np.exp((sims - sims.max(axis=1, keepdims=True)) / self.temperature)
        probs = z / z.sum(axis=1, keepdims=True)
        per = (time.perf_counter() - t) * 1000 / len(probe_set.probes)
        return [
            Answer(labels[int(i)], per, dict(zip(labels, map(float, row), strict=True)))
            for i, row in zip(probs.argmax(axis=1), probs, strict=True)
        ]


class OpenAITarget:
    """An OpenAI-compatible `/chat/completions` endpoint, with timeouts, retries and bounded concurrency.

    Retries follow `monitor_pipeline.backoff` (as the Slack delivery does): a `Retry-After`/`retry-after-ms` the target
    sends is waited out plus jitter, up to `max_retry_after_s` (the OpenAI SDK's 60 s); a longer one fails the probe at
    once rather than hold the run. Without one: jittered exponential backoff from `backoff_s`, capped at `backoff_max_s`.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 30.0,
        retries: int = 2,
        concurrency: int = 4,
        backoff_s: float = 0.25,
        backoff_max_s: float = 8.0,
        max_retry_after_s: float = 60.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self.model, self.timeout_s, self.retries, self.backoff_s = model, timeout_s, retries, backoff_s
        self.backoff_max_s, self.max_retry_after_s = backoff_max_s, max_retry_after_s
        self.concurrency = concurrency
        self._key = api_key
        self.name = f"openai:{model}@{self.base_url}"

    def _clean(self, text: str) -> str:
        # Defence in depth: whatever an error or a server echoes, the key never leaves this object.
        return text.replace(self._key, "***") if self._key else text

    def _one(self, client: httpx.Client, prompt: str, abort: threading.Event) -> Answer | str:
        body = {"model": self.model, "messages": [{"role": "user", "content": prompt}], "temperature": 0}
        last, wait = "", None
        for attempt in range(self.retries + 1):
            if abort.is_set():
                return "skipped after an earlier failure"
            if attempt:
                time.sleep(delay_s(attempt, self.backoff_s, self.backoff_max_s, wait))
            t = time.perf_counter()
            try:
                r = client.post(self.url, json=body)
            except httpx.TransportError as exc:
                last, wait = f"{type(exc).__name__}: {exc}", None
                continue
            if r.status_code in RETRY_STATUS:
                wait = retry_after_s(r.headers)
                last = f"HTTP {r.status_code}" + (f" (Retry-After {wait:g} s)" if wait is not None else "")
                if wait is not None and wait > self.max_retry_after_s:
                    abort.set()  # waiting that long would hold the whole run: report it now
                    return f"{last}: longer than the {self.max_retry_after_s:g} s a probe waits"
                continue
            if r.status_code >= 400:
                abort.set()  # 401/404/422 will not get better on retry
                return f"HTTP {r.status_code}: {r.text[:200]}"
            try:
                text = r.json()["choices"][0]["message"]["content"] or ""
            except (ValueError, KeyError, IndexError, TypeError):
                return f"unexpected response body: {r.text[:200]!r}"
            return Answer(text, (time.perf_counter() - t) * 1000)
        abort.set()  # the target is down or overloaded: stop sending the rest
        return f"{last} (after {self.retries} retries)"

    def answer(self, probe_set: ProbeSet) -> list[Answer]:
        """Send every probe (at most `concurrency` in flight); raise TargetUnavailable if any cannot be answered."""
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        abort = threading.Event()
        with (
            httpx.Client(timeout=self.timeout_s, headers=headers) as client,
            ThreadPoolExecutor(max_workers=self.concurrency) as pool,
        ):
            out = list(pool.map(lambda p: self._one(client, probe_set.render(p), abort), probe_set.probes))
        failed = [x for x in out if isinstance(x, str)]
        if failed:
            first = next((x for x in failed if not x.startswith("skipped")), failed[0])
            raise TargetUnavailable(
                self._clean(
                    f"probe target {self.url} failed: {len(failed)} of {len(out)} probes unanswered; first error: {first}"
                ),
                url=self.url,
            )
        return out  # type: ignore[return-value]


def build_target(t: ProbeTargetConfig, env: Mapping[str, str] | None = None) -> LocalIntentTarget | OpenAITarget:
    """The configured target; the API key is read from the named env var and kept out of every message."""
    if t.kind == "local":
        return LocalIntentTarget()
    if not t.base_url or not t.model:
        raise ConfigError("probes.target: kind openai needs base_url and model")
    key = (env if env is not None else os.environ).get(t.api_key_env) or None
    return OpenAITarget(t.base_url, t.model, key, timeout_s=t.timeout_s, retries=t.retries, concurrency=t.concurrency)
