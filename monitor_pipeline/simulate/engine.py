"""The serving engines' own `/metrics`: one vLLM instance per model, scraped once a minute, derived from its requests.

Every value follows from the simulated requests of the instance's model (those the engine saw: a 429 or 503 was
refused before it), so the engine's story and the request log's agree:

- gauges: `vllm:num_requests_running` and `vllm:num_requests_waiting` split the sequences in flight (the overlap of
  [arrival, arrival + latency): Little's law) between the batch and the queue; `vllm:kv_cache_usage_perc` is the
  tokens those sequences hold (prompt, plus the output generated so far) over the instance's KV capacity. A gauge is
  the mean over the `SMOOTH_MIN` minutes before its scrape: this simulation's traffic is a few requests a second, a
  real engine's many more, and a minute of a handful of heavy-tailed requests would make the gauge mostly noise.
- the KV capacity is fixed per instance, calibrated so that an ordinary weekday's busiest hours sit near
  `KV_PEAK` (it scales with `requests_per_day`, like the traffic). Above `KV_FULL` new sequences wait; above
  `SATURATED` the scheduler preempts running ones.
- counters and histograms count the requests that finished before each scrape: prompt and generation tokens,
  successes, the prefix cache's queries and hits (a hit rate of 0.3-0.6 with noise), TTFT, the time per output
  token after the first, end-to-end latency and queue time (the TTFT beyond the prompt's nominal prefill time).
- the instance of `RESTART[0]` restarts on the first simulated day at minute `RESTART[1]`: its counters and
  histograms start again from 0, as a real restart does (it is not an incident: nothing a user sees).

Randomness (preemptions, prefix-cache noise) comes from the engine's own generator, never from a day's `rng`, so the
request and resource files do not depend on whether the engine metrics are written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from monitor_pipeline.simulate.incidents import Incident
from monitor_pipeline.simulate.traffic import MODELS, simulate_day

SCRAPE_S = 60
SLOTS = 1440  # scrapes a day: at 00:00, 00:01, ... 23:59, each covering the minute before it
OVER = 16  # minutes past midnight a request of the day may still be running (later finishes land in the last one)
CELL_S = 0.1  # resolution of the in-flight bookkeeping
CELLS = round(SCRAPE_S / CELL_S)
SMOOTH_MIN = 5  # gauges are means over this many minutes before the scrape (see the module's docstring)
MAX_NUM_SEQS = 256  # vLLM's default batch limit
BLOCK_TOKENS = 16  # vLLM's KV block size: a capacity is a whole number of blocks
KV_PEAK = 0.5  # KV usage at an ordinary weekday's busiest hours
SATURATED = 0.95  # above this usage the scheduler preempts sequences to make room
KV_FULL = 0.98  # above this usage new sequences wait
PREEMPTIONS_PER_SEQ = 0.5  # preemptions a minute per running sequence, at 0.05 of usage above SATURATED
REFUSED = (429, 503)  # refused upstream (rate limit, overload): the engine never saw them
RESTART = ("qwen2.5-14b-instruct", 4 * 60 + 17)
REFERENCE_DAY = dt.date(2026, 11, 18)  # a weekday, as requests_per_day is a weekday's mean
# Tokens held 14:00-16:00 of a quiet weekday per daily request: `peak_tokens` over 3 seeds of 1M requests a day
# (measured once: a short simulation's own peak is too noisy, a long one too slow, to calibrate each run).
PEAK_TOKENS = {"llama-3.1-8b-instruct": 0.02038, "qwen2.5-14b-instruct": 0.01885, "mixtral-8x7b-instruct": 0.01628}
HEADER = "# simulated vLLM /metrics scrapes, one per minute per instance"
GAUGES = ("vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc")
COUNTERS = (
    "vllm:num_preemptions_total",
    "vllm:prompt_tokens_total",
    "vllm:generation_tokens_total",
    "vllm:prefix_cache_queries_total",
    "vllm:prefix_cache_hits_total",
    "vllm:request_success_total",
)
# Subsets of vLLM's own bucket bounds, wide enough for this service's values.
_LATENCY = (0.3, 0.5, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
HISTOGRAMS = {
    "vllm:time_to_first_token_seconds": (0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    "vllm:inter_token_latency_seconds": (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0),
    "vllm:e2e_request_latency_seconds": _LATENCY,
    "vllm:request_queue_time_seconds": _LATENCY,
}


def instance_name(model: str) -> str:
    """The `instance` label of the model's vLLM server."""
    return f"vllm-{model}:8000"


def kv_capacity(model: str, requests_per_day: int) -> int:
    """KV capacity in tokens of the model's instance: an ordinary weekday's busiest hours use about KV_PEAK of it."""
    blocks = np.ceil(PEAK_TOKENS[model] * requests_per_day / KV_PEAK / BLOCK_TOKENS)
    return int(max(1, blocks) * BLOCK_TOKENS)


def peak_tokens(requests_per_day: int, seed: int) -> dict[str, float]:
    """Measure PEAK_TOKENS: tokens held 14:00-16:00 of a quiet weekday, per model and per daily request."""
    cols = simulate_day(np.random.Generator(np.random.PCG64(seed)), REFERENCE_DAY, requests_per_day, [], 0)
    t0 = _midnight(REFERENCE_DAY)
    out = {}
    for model in MODELS:
        tokens, _ = occupancy(_engine_view(cols, model), t0)
        out[model] = float(tokens[14 * 60 + 1 : 16 * 60 + 1].mean()) / requests_per_day
    return out


def _midnight(day: dt.date) -> float:
    return dt.datetime.combine(day, dt.time(), dt.UTC).timestamp()


def _engine_view(cols: dict[str, np.ndarray], model: str) -> dict[str, np.ndarray]:
    """The model's requests that reached its engine, with times in seconds."""
    keep = (cols["model"] == model) & ~np.isin(cols["http_status"], REFUSED)
    lat = cols["latency_ms"][keep] / 1000.0
    return {
        "ts": cols["ts"][keep],
        "latency": lat,
        "ttft": np.minimum(cols["ttft_ms"][keep] / 1000.0, lat),
        "input": cols["input_tokens"][keep].astype(float),
        "output": cols["output_tokens"][keep].astype(float),
        "ok": cols["http_status"][keep] == 200,
    }


def occupancy(req: dict[str, np.ndarray], t0: float) -> tuple[np.ndarray, np.ndarray]:
    """Per scrape slot (the minute before t0 + 60 k, k < SLOTS + OVER): mean KV tokens held and sequences in flight."""
    n = (SLOTS + OVER) * CELLS
    start = t0 - SCRAPE_S  # slot 0 covers the minute before midnight (what the previous day left running)

    def cell(t: np.ndarray) -> np.ndarray:
        return np.clip(np.rint((t - start) / CELL_S), 0, n).astype(np.int64)

    a, b, e = cell(req["ts"]), cell(req["ts"] + req["ttft"]), cell(req["ts"] + req["latency"])
    # A sequence holds its prompt from arrival to finish, and its output grows linearly from the first token on:
    # a step in the level at arrival, a ramp (slope steps) from first token to finish, both removed at the finish.
    slope = req["output"] / np.maximum(e - b, 1)
    level = np.bincount(a, req["input"], n + 1) - np.bincount(e, req["input"] + slope * (e - b), n + 1)
    ramp = np.cumsum(np.bincount(b, slope, n + 1) - np.bincount(e, slope, n + 1))
    held = np.cumsum(level) + np.cumsum(ramp) - ramp  # the ramp's value at a cell is the slope summed before it
    flight = np.cumsum(np.bincount(a, minlength=n + 1) - np.bincount(e, minlength=n + 1))
    return held[:n].reshape(-1, CELLS).mean(axis=1), flight[:n].reshape(-1, CELLS).mean(axis=1)


def kv_usage(tokens: np.ndarray, capacity: int) -> np.ndarray:
    """Demand over capacity, bending just below 1: a full cache is never quite 100 % used."""
    rho = tokens / capacity
    return np.where(rho <= 0.96, rho, 0.96 + 0.03 * np.tanh((rho - 0.96) / 0.03))


def trailing(x: np.ndarray, before: np.ndarray) -> np.ndarray:
    """Mean of each slot and the SMOOTH_MIN - 1 before it (`before`: the previous day's last ones)."""
    full = np.concatenate([before, x])
    # A fixed order of additions: the same slots give the same bits whatever came before them.
    acc = full[SMOOTH_MIN - 1 :].copy()
    for lag in range(1, SMOOTH_MIN):
        acc += full[SMOOTH_MIN - 1 - lag : len(full) - lag]
    return acc / SMOOTH_MIN


def kv_saturation_time(cols: dict[str, np.ndarray], day: dt.date, inc: Incident, requests_per_day: int) -> float | None:
    """Epoch seconds of the first scrape during `inc` at which its model's KV usage reaches SATURATED (None: never)."""
    t0 = _midnight(day)
    model = inc.details["model"]
    tokens = trailing(occupancy(_engine_view(cols, model), t0)[0][:SLOTS], np.zeros(SMOOTH_MIN - 1))
    times = t0 + SCRAPE_S * np.arange(SLOTS)
    hit = inc.covers(times) & (kv_usage(tokens, kv_capacity(model, requests_per_day)) >= SATURATED)
    return float(times[np.argmax(hit)]) if hit.any() else None


@dataclass
class _Instance:
    """One vLLM server's state carried from one day to the next."""

    model: str
    capacity: int
    carry_held: np.ndarray = field(default_factory=lambda: np.zeros(OVER))
    carry_flight: np.ndarray = field(default_factory=lambda: np.zeros(OVER))
    tail_held: np.ndarray = field(default_factory=lambda: np.zeros(SMOOTH_MIN - 1))
    tail_flight: np.ndarray = field(default_factory=lambda: np.zeros(SMOOTH_MIN - 1))
    carry_inc: np.ndarray | None = None  # per-slot increments of the cumulative series past midnight
    totals: np.ndarray | None = None  # the cumulative series at the last scrape


class Engines:
    """The simulated vLLM instances, one per model; `day_text` renders one day of their scrapes."""

    def __init__(self, seed: int, requests_per_day: int) -> None:
        self.rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 16])))
        self.instances = [_Instance(m, kv_capacity(m, requests_per_day)) for m in MODELS]
        self.days = 0

    def day_text(self, day: dt.date, cols: dict[str, np.ndarray]) -> str:
        """The day's scrapes in Prometheus text format: every sample with its millisecond timestamp."""
        t0 = _midnight(day)
        blocks, prefixes = [], []
        for inst in self.instances:
            values, names = self._instance_day(inst, t0, _engine_view(cols, inst.model))
            base = f'engine="0",instance="{instance_name(inst.model)}",model_name="{inst.model}"'
            prefixes += [f"{name}{{{base}{extra}}} " for name, extra in names]
            blocks.append(values)
        self.days += 1
        stamps = [f" {int(t0 + SCRAPE_S * k) * 1000}" for k in range(SLOTS)]
        # One scrape after the other, each listing every instance's series (repr: Prometheus' own float spelling).
        scrapes = zip(np.vstack(blocks).T.tolist(), stamps, strict=True)
        lines = [f"{p}{v!r}{at}" for values, at in scrapes for p, v in zip(prefixes, values, strict=True)]
        return "\n".join([HEADER, *lines, ""])

    def _instance_day(
        self, inst: _Instance, t0: float, req: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, list[tuple[str, str]]]:
        """Rows of values (one per series, one column per scrape) and each row's (metric name, extra labels)."""
        held, flight = occupancy(req, t0)
        held[:OVER] += inst.carry_held
        flight[:OVER] += inst.carry_flight
        inst.carry_held, inst.carry_flight = held[SLOTS:].copy(), flight[SLOTS:].copy()
        held, flight = held[:SLOTS], flight[:SLOTS]
        inst.tail_held, held = held[SLOTS - SMOOTH_MIN + 1 :].copy(), trailing(held, inst.tail_held)
        inst.tail_flight, flight = flight[SLOTS - SMOOTH_MIN + 1 :].copy(), trailing(flight, inst.tail_flight)
        rho = held / inst.capacity
        usage = kv_usage(held, inst.capacity)
        queued = np.where(rho > KV_FULL, flight * (1 - KV_FULL / np.maximum(rho, KV_FULL)), 0.0)
        running = flight - queued
        over = np.maximum(running - MAX_NUM_SEQS, 0)
        running, queued = running - over, queued + over
        pressure = np.clip((rho - SATURATED) / 0.05, 0, 4)
        preempted = self.rng.poisson(PREEMPTIONS_PER_SEQ * np.maximum(running, 1) * pressure)
        m = SLOTS + OVER
        hit_rate = np.clip(0.45 + 0.06 * self.rng.standard_normal(m), 0.3, 0.6)

        # Everything counted per finished request lands in the first scrape after its finish.
        slot = np.clip(((req["ts"] + req["latency"] - t0) // SCRAPE_S).astype(np.int64) + 1, 0, m - 1)

        def per_slot(weights: np.ndarray) -> np.ndarray:
            return np.bincount(slot, weights, m)

        prompt = per_slot(req["input"])
        hits = np.rint(prompt * hit_rate)
        preempt = np.zeros(m)
        preempt[:SLOTS] = preempted
        ok = req["ok"]
        inc_rows = [preempt, prompt, per_slot(req["output"]), prompt, hits, per_slot(ok.astype(float))]
        names: list[tuple[str, str]] = [(g, "") for g in GAUGES] + [(c, "") for c in COUNTERS]

        ttft, lat, out = req["ttft"], req["latency"], req["output"]
        prefill = np.array([MODELS[inst.model][2] / 1000.0, MODELS[inst.model][3] / 1000.0])
        decoding = ok & (out > 1)
        observed = {
            "vllm:time_to_first_token_seconds": (ttft, ok.astype(float)),
            # one observation per output token after the first, each the request's mean gap
            "vllm:inter_token_latency_seconds": (
                np.where(decoding, (lat - ttft) / np.maximum(out - 1, 1), 0.0),
                np.where(decoding, out - 1, 0.0),
            ),
            "vllm:e2e_request_latency_seconds": (lat, ok.astype(float)),
            "vllm:request_queue_time_seconds": (
                np.maximum(0.0, ttft - prefill[0] - prefill[1] * req["input"]),
                ok.astype(float),
            ),
        }
        for name, (v, w) in observed.items():
            bounds = HISTOGRAMS[name]
            k = len(bounds) + 1
            idx = np.searchsorted(np.array(bounds), v, side="left")
            counts = np.bincount(slot * k + idx, w, m * k).reshape(m, k).cumsum(axis=1).T
            inc_rows += [*counts, per_slot(v * w)]
            inc_rows.append(counts[-1])
            names += [(f"{name}_bucket", f',le="{le!r}"') for le in bounds] + [(f"{name}_bucket", ',le="+Inf"')]
            names += [(f"{name}_sum", ""), (f"{name}_count", "")]

        inc = np.vstack(inc_rows)
        if inst.carry_inc is not None:
            inc[:, :OVER] += inst.carry_inc
        inst.carry_inc = inc[:, SLOTS:].copy()
        inc = inc[:, :SLOTS]
        base = inst.totals if inst.totals is not None else np.zeros(len(inc))
        cum = base[:, None] + np.cumsum(inc, axis=1)
        if self.days == 0 and inst.model == RESTART[0]:
            r = RESTART[1]
            cum[:, r:] = np.cumsum(inc[:, r:], axis=1)  # the restarted engine counts from 0 again
        inst.totals = cum[:, -1].copy()
        gauges = np.vstack([np.round(running, 2), np.round(queued, 2), np.round(usage, 4)])
        return np.vstack([gauges, np.round(cum, 6)]), names
