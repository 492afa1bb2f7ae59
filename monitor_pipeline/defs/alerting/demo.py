"""The demo's alerting pass: every finding and check evaluation into the outbox, delivered, matched to incidents."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg

from monitor_pipeline.alerts.cycle import alerts_config, new_findings, summary, transports
from monitor_pipeline.alerts.deliver import deliver, utcnow
from monitor_pipeline.alerts.findings import FindingStore
from monitor_pipeline.alerts.outbox import Outbox
from monitor_pipeline.alerts.transitions import evaluate
from monitor_pipeline.defs.alerting.observe import new_check_evaluations


def match_incidents(incidents: list[dict], alerts: list[dict], days: int, grace: dt.timedelta) -> dict[str, Any]:
    """Alerts (firing/flapping) per injected incident by onset time; the rest are false alerts (a rough first cut).

    A day-level alert (a daily check: its window spans >= 12 h) cannot point at one incident: it counts as
    `day_level` when its day holds incidents, else as false.
    """
    per: dict[str, list[str]] = {i["id"]: [] for i in incidents}
    false, day_level = [], []
    spans = [(i["id"], dt.datetime.fromisoformat(i["start"]), dt.datetime.fromisoformat(i["end"])) for i in incidents]
    affected = {i["id"]: i.get("affected", []) for i in incidents}
    for a in alerts:
        onset, end = dt.datetime.fromisoformat(a["onset"]), dt.datetime.fromisoformat(a["end"])
        if end - onset >= dt.timedelta(hours=12):
            (day_level if any(s < end and onset < e for _, s, e in spans) else false).append(a["key"])
            continue
        near = [i for i, s, e in spans if s - grace <= onset <= e + grace]
        # Prefer the incident whose affected series or entity the alert names; fall back to time alone.
        named = [i for i in near if any(_names(a["key"], aff) for aff in affected[i])]
        hit = (named or near or [None])[0]
        (per[hit] if hit else false).append(a["key"])
    return {"alerts_per_incident": {k: len(v) for k, v in per.items()}, "keys_per_incident": per,
            "missed_incidents": [k for k, v in per.items() if not v], "day_level_alerts": day_level,
            "false_alerts": false, "false_alerts_per_day": round(len(false) / max(days, 1), 2)}


def _names(key: str, affected: str) -> bool:
    """Whether alert `key` (rule:entity) is about the affected series `affected` (`requests.count`, `security.user{...}`)."""
    entity = key.split(":", 1)[-1]
    return entity == affected or (affected.startswith("security.") and affected.split("=")[-1].rstrip("}") == entity)


def demo_alerts(cfg: Any, defs: dg.Definitions, instance: dg.DagsterInstance, incidents_file: str | Path | None = None,
                days: int = 1, out: Callable[[str], None] = print, clock: Callable[[], dt.datetime] = utcnow) -> dict:
    """Evaluate new findings and check evaluations, deliver (local JSONL + console unless Slack is set), summarise."""
    acfg, data, now = alerts_config(cfg), cfg.data_path(), clock()
    outbox = Outbox.in_data_dir(data)
    checks, check_cursor = new_check_evaluations(instance, defs.get_repository_def().asset_graph.asset_check_keys,
                                                 outbox, now)
    found, find_cursor = new_findings(outbox, FindingStore(cfg.findings_path()), now)
    new = evaluate(outbox, acfg, [*found, *checks], now, {**find_cursor, **check_cursor})
    ways = transports(acfg, data, console=lambda line: out(f"  {line}"))
    report = deliver(outbox, ways, acfg.delivery, clock)
    result = {"observations": {"findings": len(found), "check_evaluations": len(checks)}, "new_messages": len(new),
              "delivery": report.as_dict(), "channels": {c: t.name for c, t in ways.items()}, **summary(outbox)}
    if incidents_file and Path(incidents_file).is_file():
        # a firing message opens an alert; its onset inside a labeled window (+- 1 h) attributes it to that incident
        result["vs_incidents"] = match_incidents(json.loads(Path(incidents_file).read_text()), result["incidents"],
                                                 days, dt.timedelta(hours=1))
    c = result["counts"]
    out(f"alerts:             {len(result['incidents'])} alert(s) opened on {result['keys']} key(s) from "
        f"{len(found)} findings and {len(checks)} check evaluations; outbox sent {c['sent']}, pending {c['pending']}, "
        f"dead-letter {c['dead']}  (monitor-pipeline alerts list)")
    if "vs_incidents" in result:
        v = result["vs_incidents"]
        out(f"                    per incident: {json.dumps(v['alerts_per_incident'])}; day-level check alerts on "
            f"incident days: {len(v['day_level_alerts'])}; false alerts per simulated day: {v['false_alerts_per_day']}")
    return result
