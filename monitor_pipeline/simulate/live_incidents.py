"""The live simulator's incidents: which kinds, how long each lasts, `KIND@MIN[+LEN]` specs, and the series each moves
(the batch simulator's effects plus what the live mechanics move too)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np

from monitor_pipeline.errors import InputError
from monitor_pipeline.simulate.engine import instance_name
from monitor_pipeline.simulate.gpus import GPUS, HOSTS
from monitor_pipeline.simulate.incidents import ABUSER, ABUSER_IP, PROMPT_FACTOR, Incident
from monitor_pipeline.simulate.traffic import MODELS

# How long each kind lasts, in minutes (None: until the end of the run), cut short by the end of the run. Minutes, not
# the batch's hours: a live run is short, and an incident should begin and end inside it.
DURATION_MIN: dict[str, float | None] = {
    "latency_regression": 15,
    "error_burst": 10,
    "traffic_spike": 10,
    "abusive_user": 10,
    "gpu_memory_leak": 20,
    "kv_cache_saturation": 20,
    "prompt_length_drift": None,
}
# The agent prompts grow to PROMPT_FACTOR times their length in this many minutes: from the ~0.3 KV usage of a flat
# load the cache fills about halfway through, and the engines' 5-minute gauges show it a few minutes later.
KV_RAMP_MIN = 8
ABUSE_RATE = (
    2.0  # the abusive user's requests a second: the batch's absolute rate (the rules count one user's requests)
)
ABUSE_NOTICED = 0.05  # ... a share of the service's rate past which they move its count, errors, latency and engines


def parse_incident(spec: str | tuple) -> tuple[str, float, float | None]:
    """`KIND@MIN` or `KIND@MIN+LEN` (or a (kind, minute[, length]) tuple) -> (kind, minutes after the start, minutes it
    lasts: None for the kind's DURATION_MIN)."""
    length: float | None = None
    if isinstance(spec, str):
        kind, sep, when = spec.partition("@")
        minute, plus, span = when.partition("+")
        try:
            at = float(minute) if sep else math.nan
            length = float(span) if plus else None
        except ValueError:
            at = math.nan
        if math.isnan(at) or (length is not None and not length > 0):
            raise InputError(f"--incident {spec!r}: expected KIND@MINUTE or KIND@MINUTE+LENGTH, e.g. error_burst@5")
    else:
        kind, at = spec[0], float(spec[1])
        length = float(spec[2]) if len(spec) > 2 and spec[2] is not None else None
        if length is not None and not length > 0:
            raise InputError(f"incident {spec!r}: the length must be above 0 minutes")
    if kind not in DURATION_MIN:
        raise InputError(f"--incident {kind!r}: expected one of {', '.join(DURATION_MIN)}")
    return kind, at, length


def plan_incidents(
    specs: list[tuple[str, float, float | None]], start: float, end: float, seed: int, rate: float = 1.0
) -> list[Incident]:
    """The incidents asked for, with the batch simulator's details and affected series, each cut short by the end."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 2])))
    models = list(MODELS)
    out = []
    for n, (kind, at, asked) in enumerate(specs, start=1):
        s = start + 60.0 * at
        length = DURATION_MIN[kind] if asked is None else asked
        e = end if length is None else min(end, s + 60.0 * length)
        affected, details = effects(kind, rng, models, rate)
        t = [dt.datetime.fromtimestamp(x, dt.UTC) for x in (s, e)]
        out.append(Incident(f"inc-{n}", kind, t[0], t[1], affected, details))
    return out


def effects(kind: str, rng: np.random.Generator, models: list[str], rate: float = 1.0) -> tuple[list[str], dict]:
    """(affected series, details) of an incident of `kind`, as incidents.schedule gives them, plus the series this
    simulation's own mechanics move too (what an alert about them is about): a slower model's engine holds its
    requests' KV cache longer and queues past it, and more of them are open at once (the concurrency rule,
    `security.model{model=...}`); failed requests generate no tokens; a traffic spike's load drives the GPUs'
    utilisation and memory, the service's token throughput and every model's concurrency. An abusive user's requests
    (ABUSE_RATE a second) move the service-wide series only where they are a noticeable share of `rate`."""
    engines = [f"engine.{name}{{model={m}}}" for m in models for name in ("kv_cache_usage", "waiting", "ttft_p95_s")]
    load = ["requests.count", "requests.error_rate", *(f"requests.latency_p95_ms{{model={m}}}" for m in models)]
    gpus = [
        f"resources.{m}{{host={h},device={g}}}"
        for h in HOSTS
        for g in GPUS
        for m in ("gpu_util_pct", "gpu_mem_used_share")
    ]
    if kind == "latency_regression":
        model = models[int(rng.integers(0, len(models)))]
        affected = [f"requests.latency_p95_ms{{model={model}}}", f"engine.ttft_p95_s{{model={model}}}"]
        affected += [
            f"engine.kv_cache_usage{{model={model}}}",
            f"engine.waiting{{model={model}}}",
            f"security.model{{model={model}}}",
        ]
        return affected, {"model": model, "factor": 2.5}
    if kind == "error_burst":
        affected = ["requests.error_rate", "requests.output_tokens_per_s"]
        return affected, {"error_share": 0.25, "http_status": [500, 503]}
    if kind == "traffic_spike":
        overload = [f"security.model{{model={m}}}" for m in models]
        return [*load, "requests.output_tokens_per_s", *engines, *gpus, *overload], {"factor": 4.0}
    if kind == "abusive_user":
        patterns = ["prompt_injection", "jailbreak", "base64_payload", "pii", "secret"]
        details = {"user_id": ABUSER, "client_ip": ABUSER_IP, "rate_per_s": ABUSE_RATE, "patterns": patterns}
        noticed = ABUSE_RATE >= ABUSE_NOTICED * rate
        return [f"security.user{{user_id={ABUSER}}}", *((*load, *engines) if noticed else ())], details
    if kind == "gpu_memory_leak":
        host, device = HOSTS[int(rng.integers(0, len(HOSTS)))], GPUS[int(rng.integers(0, len(GPUS)))]
        series = [f"resources.{m}{{host={host},device={device}}}" for m in ("gpu_mem_used_mb", "gpu_mem_used_share")]
        return series, {"host": host, "device": device, "peak_share": 0.98}
    if kind == "kv_cache_saturation":
        model = models[int(rng.integers(0, len(models)))]
        names = ("kv_cache_usage", "waiting", "ttft_p95_s")
        affected = [*(f"engine.{x}{{model={model}}}" for x in names), f"requests.latency_p95_ms{{model={model}}}"]
        details = {
            "model": model,
            "instance": instance_name(model),
            "prompt_factor": PROMPT_FACTOR,
            "ramp_minutes": KV_RAMP_MIN,
            "latency_factor": 2.5,
            "queued_share": 0.6,
            "saturation_at": None,  # filled in when the generated window fills the KV cache
        }
        return affected, details
    return ["requests.input_tokens", *engines], {"factor": 3.0}  # prompt_length_drift


def as_of(inc: Incident, now: float) -> Incident:
    """`inc` as known at `now`: a KV-cache saturation still to come is not known yet."""
    at = inc.details.get("saturation_at")
    if at is None or dt.datetime.fromisoformat(at).timestamp() <= now:
        return inc
    return dataclasses.replace(inc, details={**inc.details, "saturation_at": None})
