"""One simulated day of requests as numpy columns: arrivals, tokens, latency, errors, labels, incidents."""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from monitor_pipeline.simulate.incidents import ABUSER, ABUSER_IP, Incident
from monitor_pipeline.simulate.text import INTENTS, abusive_prompts, prompts

QUANTILES = Path(__file__).resolve().parents[2] / "assets" / "reference" / "azure_token_quantiles.json"
# name: (traffic share, decode ms per output token, TTFT base ms, TTFT ms per input token)
MODELS = {
    "llama-3.1-8b-instruct": (0.5, 9.0, 35.0, 0.020),
    "qwen2.5-14b-instruct": (0.3, 14.0, 60.0, 0.035),
    "mixtral-8x7b-instruct": (0.2, 18.0, 80.0, 0.050),
}
USERS = 500
# The demo's day: 100k requests from USERS users. A busier service has more users, not busier ones: at k times this
# volume the simulator has k times the users, each population copy with the demo's per-user rates (Zipf, s=1.1).
# Absolute per-user limits (configs/rules.yaml) then mean the same at 1 and at 100 requests a second.
BASE_REQUESTS_PER_DAY = 100_000


def population(requests_per_day: float) -> int:
    """How many users send a day of `requests_per_day` requests: USERS per BASE_REQUESTS_PER_DAY (at least USERS)."""
    return USERS * max(1, int(requests_per_day // BASE_REQUESTS_PER_DAY))


def user_names(index: np.ndarray) -> np.ndarray:
    """`user-0042`-style ids of user indices; the abusive user's id (user-9999) is never a regular user's."""
    return np.char.mod("user-%04d", index + (index >= 9999)).astype(object)


@lru_cache(maxsize=1)
def token_quantiles() -> dict:
    """Quantiles of input/output tokens of the real Azure code and conversation traces (embedded)."""
    return json.loads(QUANTILES.read_text())


def sample_tokens(rng: np.random.Generator, kind: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Input and output token counts drawn by inverse CDF from the Azure trace `kind` (code or conv)."""
    q = token_quantiles()
    u1, u2 = rng.random(n), rng.random(n)
    inp = np.interp(u1, q["q"], q[kind]["input_tokens"])
    out = np.interp(u2, q["q"], q[kind]["output_tokens"])
    return np.maximum(1, inp).astype(np.int64), np.maximum(1, out).astype(np.int64)


def rate_profile(day: dt.date) -> np.ndarray:
    """Relative arrival rate for each second of a UTC day: diurnal (peak mid-afternoon) and weekly."""
    h = np.arange(86400) / 3600.0
    diurnal = 0.25 + 0.75 * (1 + np.cos(2 * np.pi * (h - 15) / 24)) / 2  # ~4x between 15:00 and 03:00
    weekly = 0.6 if day.weekday() >= 5 else 1.0
    return diurnal * weekly


def simulate_day(
    rng: np.random.Generator, day: dt.date, requests_per_day: int, incidents: list[Incident], first_id: int
) -> dict[str, np.ndarray]:
    """Columns of one day of requests (sorted by time), incidents applied."""
    ts, load = day_arrivals(rng, day, requests_per_day, incidents)
    cols = request_columns(rng, ts, load, incidents, population(requests_per_day))
    order = np.argsort(cols["ts"], kind="stable")
    cols = {k: v[order] for k, v in cols.items()}
    cols["request_id"] = np.char.mod("req-%09d", np.arange(first_id, first_id + len(order))).astype(object)
    return cols


def day_arrivals(
    rng: np.random.Generator, day: dt.date, requests_per_day: int, incidents: list[Incident]
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted arrival times of one UTC day (diurnal and weekly rate, traffic spikes applied) and the load at each
    (the rate over the day's mean rate)."""
    t0 = dt.datetime.combine(day, dt.time(), dt.UTC).timestamp()
    secs = t0 + np.arange(86400)
    rate = rate_profile(day)
    base_total = rate_profile(dt.date(2026, 11, 18)).sum()  # a weekday: requests_per_day is its mean
    for inc in incidents:
        if inc.kind == "traffic_spike":
            rate = np.where(inc.covers(secs), rate * inc.details["factor"], rate)
    n = int(rng.poisson(requests_per_day * rate.sum() / base_total))
    cdf = np.cumsum(rate) / rate.sum()
    ts = np.sort(t0 + np.searchsorted(cdf, rng.random(n)) + rng.random(n))
    return ts, np.interp(ts - t0, np.arange(86400), rate / rate.mean())


def request_columns(
    rng: np.random.Generator, ts: np.ndarray, load: np.ndarray, incidents: list[Incident], users: int = USERS
) -> dict[str, np.ndarray]:
    """The columns (no request id) of requests arriving at times `ts` under `load` (1: ordinary) from `users` users
    (a multiple of USERS), incidents applied; an abusive user's requests on the day of `ts` come last, so the rows
    are not sorted by time."""
    n = len(ts)
    names = list(MODELS)
    m = rng.choice(len(names), n, p=[MODELS[k][0] for k in names])
    op = rng.choice(3, n, p=[0.6, 0.3, 0.1])  # chat / completion / classify
    inp, out = sample_tokens(rng, "conv", n)
    ci, co = sample_tokens(rng, "code", n)
    inp, out = np.where(op == 1, ci, inp), np.where(op == 1, co, out)
    out = np.where(op == 2, rng.integers(1, 4, n), out)
    drift = _covered(incidents, "prompt_length_drift", ts)
    inp = np.where(drift, (inp * inc_factor(incidents, "prompt_length_drift")).astype(np.int64), inp)
    for inc in incidents:
        if inc.kind == "kv_cache_saturation":
            inp = np.where(inc.covers(ts) & (m == names.index(inc.details["model"])), _agent_prompts(inc, ts, inp), inp)

    decode = np.array([MODELS[k][1] for k in names])[m]
    ttft_base = np.array([MODELS[k][2] for k in names])[m] + np.array([MODELS[k][3] for k in names])[m] * inp
    slow = 1 + 0.35 * np.maximum(0, load - 1) ** 1.5
    for inc in incidents:
        if inc.kind == "latency_regression":
            hit = inc.covers(ts) & (m == names.index(inc.details["model"]))
            slow = np.where(hit, slow * inc.details["factor"], slow)
    ttft = ttft_base * slow * rng.lognormal(0, 0.25, n)
    latency = ttft + out * decode * slow * rng.lognormal(0, 0.15, n)

    p_err = 0.003 + 0.01 * np.maximum(0, load - 1.5)
    burst = np.zeros(n, dtype=bool)
    for inc in incidents:
        if inc.kind == "error_burst":
            hit = inc.covers(ts)
            burst |= hit
            p_err = np.where(hit, inc.details["error_share"], p_err)
    err = rng.random(n) < p_err
    http = np.where(
        err, np.where(burst, rng.choice([500, 503], n), rng.choice([429, 500, 504], n, p=[0.5, 0.2, 0.3])), 200
    )
    out = np.where(err, 0, out)
    latency = np.where(err & (http == 504), 30000.0 + rng.random(n) * 1000, latency)

    weights = np.tile(1.0 / np.arange(1, USERS + 1) ** 1.1, max(1, users // USERS))
    user = rng.choice(len(weights), n, p=weights / weights.sum())
    label = rng.integers(0, len(INTENTS), n)
    correct = rng.random(n) < 0.9
    pred = np.where(correct, label, (label + rng.integers(1, len(INTENTS), n)) % len(INTENTS))
    score = np.where(correct, rng.beta(8, 2, n), rng.beta(3, 3, n))
    cols = {
        "ts": ts,
        "model": np.array(names, dtype=object)[m],
        "user_id": user_names(user),
        "client_ip": np.char.mod("10.%d.", (user // 250) % 256).astype(object)
        + np.char.mod("%d.", user % 250).astype(object)
        + np.char.mod("%d", 10 + user % 200).astype(object),
        "operation": np.array(["chat", "completion", "classify"], dtype=object)[op],
        "input_tokens": inp,
        "output_tokens": out,
        "latency_ms": latency,
        "ttft_ms": np.minimum(ttft, latency),
        "http_status": http,
        "error": err,
        "prompt": prompts(rng, n, drift),
        "classify": op == 2,
        "label": np.array(INTENTS, dtype=object)[label],
        "prediction": np.array(INTENTS, dtype=object)[pred],
        "score": score,
        "batch_size": rng.choice([1, 2, 4, 8, 16], n, p=[0.3, 0.3, 0.2, 0.15, 0.05]),
    }
    for inc in incidents:
        if inc.kind == "abusive_user":  # each on the day it starts (schedule places one)
            cols = _add_abuser(rng, cols, inc, names)
    return cols


def _covered(incidents: list[Incident], kind: str, ts: np.ndarray) -> np.ndarray:
    """Mask of `ts` inside any incident of `kind`."""
    hit = np.zeros(len(ts), dtype=bool)
    for inc in incidents:
        if inc.kind == kind:
            hit |= inc.covers(ts)
    return hit


def _agent_prompts(inc: Incident, ts: np.ndarray, inp: np.ndarray) -> np.ndarray:
    """Prompts of a model an agent framework has moved onto: each turn resends the session's growing context, so
    prompts lengthen steadily (up to `prompt_factor` after `ramp_minutes`). Outputs stay as they were: longer ones
    would slow the requests themselves, and the latency must move only once the KV cache is full."""
    grown = np.clip((ts - inc.start.timestamp()) / (60.0 * inc.details["ramp_minutes"]), 0, 1)
    return (inp * (1 + (inc.details["prompt_factor"] - 1) * grown)).astype(np.int64)


def saturate(cols: dict[str, np.ndarray], inc: Incident) -> dict[str, np.ndarray]:
    """The kv_cache_saturation incident's latency: from `saturation_at` to its end the model's successful requests
    queue for KV blocks and get preempted, taking `latency_factor` times as long, most of the extra before the first
    token (deterministic: no draws)."""
    at = inc.details.get("saturation_at")
    if at is None:
        return cols
    t = dt.datetime.fromisoformat(at).timestamp()
    hit = (cols["ts"] >= t) & inc.covers(cols["ts"]) & (cols["model"] == inc.details["model"])
    hit &= cols["http_status"] == 200
    extra = np.where(hit, (inc.details["latency_factor"] - 1) * cols["latency_ms"], 0.0)
    return {
        **cols,
        "latency_ms": cols["latency_ms"] + extra,
        "ttft_ms": cols["ttft_ms"] + inc.details["queued_share"] * extra,
    }


def inc_factor(incidents: list[Incident], kind: str) -> float:
    """The `factor` detail of the first incident of `kind` (1 when none)."""
    return next((i.details["factor"] for i in incidents if i.kind == kind), 1.0)


def _add_abuser(rng: np.random.Generator, cols: dict, inc: Incident, names: list[str]) -> dict:
    """`cols` with the abusive user's requests of incident `inc` appended, when it starts on the day of `cols`."""
    day_start = float(cols["ts"].min()) // 86400 * 86400 if len(cols["ts"]) else None
    # Only the day the abuse happens gets the abuser's requests (other days' files must not carry them).
    if day_start is None or not day_start <= inc.start.timestamp() < day_start + 86400:
        return cols
    dur = (inc.end - inc.start).total_seconds()
    k = int(rng.poisson(inc.details["rate_per_s"] * dur))
    ts = np.sort(inc.start.timestamp() + rng.random(k) * dur)
    extra = {
        "ts": ts,
        "model": np.full(k, names[0], dtype=object),
        "user_id": np.full(k, ABUSER, dtype=object),
        "client_ip": np.full(k, ABUSER_IP, dtype=object),
        "operation": np.full(k, "chat", dtype=object),
        "input_tokens": rng.integers(200, 2000, k),
        "output_tokens": rng.integers(5, 200, k),
        "latency_ms": rng.uniform(300, 3000, k),
        "ttft_ms": rng.uniform(50, 200, k),
        "http_status": np.full(k, 200),
        "error": np.zeros(k, dtype=bool),
        "prompt": np.array(abusive_prompts(rng, k), dtype=object),
        "classify": np.zeros(k, dtype=bool),
        "label": np.full(k, "other", dtype=object),
        "prediction": np.full(k, "other", dtype=object),
        "score": np.zeros(k),
        "batch_size": np.ones(k, dtype=np.int64),
    }
    return {c: np.concatenate([cols[c], extra[c]]) for c in cols}
