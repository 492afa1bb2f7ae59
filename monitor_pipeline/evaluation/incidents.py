"""Detections measured against labeled incidents (the simulator's incidents.json): anomaly events and alerts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd


def match_incidents(
    found: pd.DataFrame, incidents: list[dict], window: pd.Timedelta, grace: pd.Timedelta | None = None
) -> dict:
    """Recall, precision and detection delay (in windows) of `found` anomaly events against labeled incidents.

    An incident counts as detected when an event on one of its affected series starts inside [start, end + grace);
    an event is a true positive when it overlaps any incident on its series (within the grace period).
    """
    grace = grace if grace is not None else 6 * window
    scored_series = set(found["series"]) if len(found) else set()
    per, delays = [], []
    for inc in incidents:
        s, e = pd.Timestamp(inc["start"]), pd.Timestamp(inc["end"])
        affected = set(inc["affected"])
        hit = (
            found[
                [
                    bool(set(r.get("members") or [r["series"]]) & affected) and r["end"] > s and r["start"] < e + grace
                    for r in found.to_dict("records")
                ]
            ]
            if len(found)
            else found
        )
        delay = None
        if len(hit):
            delay = max(0.0, (hit["start"].min() - s) / window)
            delays.append(delay)
        per.append({"id": inc["id"], "kind": inc["kind"], "detected": bool(len(hit)), "delay_windows": delay})
    tp = 0
    for ev in found.to_dict("records"):
        names = set(ev.get("members") or [ev["series"]])
        if any(
            names & set(inc["affected"])
            and ev["end"] > pd.Timestamp(inc["start"])
            and ev["start"] < pd.Timestamp(inc["end"]) + grace
            for inc in incidents
        ):
            tp += 1
    n = len(per)
    return {
        "incidents": n,
        "detected": sum(p["detected"] for p in per),
        "recall": (sum(p["detected"] for p in per) / n) if n else None,
        "events": len(found),
        "true_events": tp,
        "false_events": len(found) - tp,
        "precision": (tp / len(found)) if len(found) else None,
        "mean_delay_windows": float(np.mean(delays)) if delays else None,
        "per_incident": per,
        "series_with_events": sorted(scored_series),
    }


def match_alerts(incidents: list[dict], alerts: list[dict], days: int, grace: dt.timedelta) -> dict[str, Any]:
    """Alerts (firing/flapping) per injected incident by onset time; the rest are false alerts (a rough first cut).

    A day-level alert (a daily check: its window spans >= 12 h) cannot point at one incident: it counts as
    `day_level` when its day holds incidents, else as false.
    """
    per: dict[str, list[str]] = {i["id"]: [] for i in incidents}
    false: list[str] = []
    day_level: list[str] = []
    spans = [(i["id"], dt.datetime.fromisoformat(i["start"]), dt.datetime.fromisoformat(i["end"])) for i in incidents]
    affected = {i["id"]: i.get("affected", []) for i in incidents}
    for a in alerts:
        onset, end = dt.datetime.fromisoformat(a["onset"]), dt.datetime.fromisoformat(a["end"])
        if end - onset >= dt.timedelta(hours=12):
            (day_level if any(s < end and onset < e for _, s, e in spans) else false).append(a["key"])
            continue
        near = [i for i, s, e in spans if s - grace <= onset <= e + grace]
        # Prefer the incident whose affected series or entity the alert names; fall back to time alone.
        named = [i for i in near if any(names_series(a["key"], aff) for aff in affected[i])]
        hit = (named or near or [None])[0]
        (per[hit] if hit else false).append(a["key"])
    return {
        "alerts_per_incident": {k: len(v) for k, v in per.items()},
        "keys_per_incident": per,
        "missed_incidents": [k for k, v in per.items() if not v],
        "day_level_alerts": day_level,
        "false_alerts": false,
        "false_alerts_per_day": round(len(false) / max(days, 1), 2),
    }


def names_series(key: str, affected: str) -> bool:
    """Whether alert `key` (rule:entity) is about the affected series `affected` (`requests.count`, `security.user{...}`,
    `engine.kv_cache_usage{model=m}`, which a capacity forecast names `engine.time_to_threshold:<engine>:m:kv_cache_usage`,
    `resources.gpu_mem_used_share{host=h,device=d}`, named `resource.time_to_threshold:h:d:gpu_memory`)."""
    rule, _, entity = key.partition(":")
    if entity == affected:
        return True
    if affected.startswith("security."):
        return affected.split("=")[-1].rstrip("}") == entity
    parts = entity.split(":")
    if affected.startswith("engine.") and rule == "engine.time_to_threshold":
        name, _, group = affected.removeprefix("engine.").partition("{")
        return len(parts) == 3 and parts[2] == name and f"model={parts[1]}" in group
    if affected.startswith("resources.gpu_mem_used") and rule == "resource.time_to_threshold":
        labels = set(affected.partition("{")[2].rstrip("}").split(","))
        return len(parts) == 3 and parts[2] == "gpu_memory" and {f"host={parts[0]}", f"device={parts[1]}"} <= labels
    return False


def lead_before_latency(incidents: list[dict], alerts: list[dict], kind: str = "kv_cache_saturation") -> list[dict]:
    """Per incident of `kind`: the first alert on its KV cache or queue (a forecast or an anomaly), the first on its
    request latency, and how many minutes the first came before the second (None when either never fired). The
    engine's time to first token is left out: it is a latency itself."""
    out = []
    for inc in (i for i in incidents if i["kind"] == kind):
        engine = [a for a in inc["affected"] if a.startswith(("engine.kv_cache_usage", "engine.waiting"))]
        latency = [a for a in inc["affected"] if a.startswith("requests.latency")]

        def first(series: list[str]) -> dt.datetime | None:
            onsets = [
                dt.datetime.fromisoformat(a["onset"]) for a in alerts if any(names_series(a["key"], s) for s in series)
            ]
            return min(onsets) if onsets else None

        e, lat = first(engine), first(latency)
        out.append(
            {
                "id": inc["id"],
                "engine_alert": None if e is None else e.isoformat(),
                "latency_alert": None if lat is None else lat.isoformat(),
                "lead_minutes": None if e is None or lat is None else (lat - e).total_seconds() / 60,
            }
        )
    return out
