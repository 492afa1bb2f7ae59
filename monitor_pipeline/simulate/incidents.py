"""The labeled incidents a simulation injects, placed deterministically from the seed."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

import numpy as np

ABUSER = "user-9999"
ABUSER_IP = "203.0.113.66"  # TEST-NET-3: never a real client
# kv_cache_saturation: how much longer the agent framework's prompts grow. Around 07:00 a model's KV cache is about
# 0.2 used, so prompts ~4.5 times longer fill it: with a linear growth over an hour, after some 30-40 minutes.
PROMPT_FACTOR = 6.0


@dataclass(frozen=True)
class Incident:
    """Ground truth of one injected incident."""

    id: str
    kind: str
    start: dt.datetime
    end: dt.datetime
    affected: list[str]
    details: dict = field(default_factory=dict)

    def covers(self, t: np.ndarray) -> np.ndarray:
        """Mask of epoch seconds `t` inside [start, end)."""
        return (t >= self.start.timestamp()) & (t < self.end.timestamp())

    def to_json(self) -> dict:
        """JSON-ready form with ISO UTC times."""
        d = asdict(self)
        d["start"], d["end"] = self.start.isoformat(), self.end.isoformat()
        return d


def schedule(start: dt.date, days: int, rng: np.random.Generator, models: list[str]) -> list[Incident]:
    """Incidents on the last day, in slots that never overlap: the days before it are the quiet history that
    forecasters train on and drift compares with."""
    day = dt.datetime.combine(start + dt.timedelta(days=days - 1), dt.time(), dt.UTC)
    end_of_sim = dt.datetime.combine(start + dt.timedelta(days=days), dt.time(), dt.UTC)

    def at(hour: float, minutes: float) -> tuple[dt.datetime, dt.datetime]:
        jitter = int(rng.integers(0, 20))
        s = day + dt.timedelta(hours=hour, minutes=jitter)
        return s, s + dt.timedelta(minutes=minutes)

    model = models[int(rng.integers(0, len(models)))]
    host, device = f"gpu-node-{int(rng.integers(1, 3))}", f"gpu{int(rng.integers(0, 2))}"
    out = []
    s, e = at(2, 120)
    out.append(
        Incident(
            "inc-1",
            "latency_regression",
            s,
            e,
            # The engine's own time to first token regresses with the requests' latency (the same requests).
            [f"requests.latency_p95_ms{{model={model}}}", f"engine.ttft_p95_s{{model={model}}}"],
            {"model": model, "factor": 2.5},
        )
    )
    s, e = at(6, 30)
    out.append(
        Incident(
            "inc-2", "error_burst", s, e, ["requests.error_rate"], {"error_share": 0.25, "http_status": [500, 503]}
        )
    )
    s, e = at(9, 60)
    # Latency and errors grow with load in this service, so a burst of traffic shows on them too.
    # The engines feel load too: more requests in flight hold more of the KV cache and queue past it.
    engines = [f"engine.{name}{{model={m}}}" for m in models for name in ("kv_cache_usage", "waiting", "ttft_p95_s")]
    load = [
        "requests.count",
        "requests.error_rate",
        *(f"requests.latency_p95_ms{{model={m}}}" for m in models),
        *engines,
    ]
    out.append(Incident("inc-3", "traffic_spike", s, e, load, {"factor": 4.0}))
    s, e = at(12, 60)
    out.append(
        Incident(
            "inc-4",
            "abusive_user",
            s,
            e,
            [f"security.user{{user_id={ABUSER}}}", *load],
            {
                "user_id": ABUSER,
                "client_ip": ABUSER_IP,
                "rate_per_s": 2.0,
                "patterns": ["prompt_injection", "jailbreak", "base64_payload", "pii", "secret"],
            },
        )
    )
    s, e = at(14, 360)
    out.append(
        Incident(
            "inc-5",
            "gpu_memory_leak",
            s,
            e,
            [
                f"resources.gpu_mem_used_mb{{host={host},device={device}}}",
                f"resources.gpu_mem_used_share{{host={host},device={device}}}",
            ],
            {"host": host, "device": device, "peak_share": 0.98},
        )
    )
    s, _ = at(20, 0)
    # Longer prompts take more of every engine's KV cache and longer to prefill (time to first token).
    longer = [f"engine.{name}{{model={m}}}" for m in models for name in ("kv_cache_usage", "waiting", "ttft_p95_s")]
    out.append(
        Incident("inc-6", "prompt_length_drift", s, end_of_sim, ["requests.input_tokens", *longer], {"factor": 3.0})
    )
    # An agent framework moves onto one model: its prompts grow until the KV cache fills, and only then do requests
    # queue and get preempted (traffic.saturate). Drawn after every other incident's draws: adding it moved none.
    s, e = at(7, 90)
    kv = models[int(rng.integers(0, len(models)))]
    out.append(
        Incident(
            "inc-7",
            "kv_cache_saturation",
            s,
            e,
            [
                f"engine.kv_cache_usage{{model={kv}}}",
                f"engine.waiting{{model={kv}}}",
                f"engine.ttft_p95_s{{model={kv}}}",
                f"requests.latency_p95_ms{{model={kv}}}",
            ],
            {
                "model": kv,
                "instance": f"vllm-{kv}:8000",
                "prompt_factor": PROMPT_FACTOR,
                "ramp_minutes": 60,
                "latency_factor": 2.5,
                "queued_share": 0.6,
                "saturation_at": None,  # the simulation fills in when the KV cache actually fills
            },
        )
    )
    return out
