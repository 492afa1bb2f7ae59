"""The demo's alerting pass: every finding and check evaluation into the outbox, delivered, matched to incidents."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg

from monitor_pipeline.alerts.cycle import alert_pass
from monitor_pipeline.alerts.deliver import utcnow
from monitor_pipeline.alerts.outbox import Outbox
from monitor_pipeline.defs.alerting.observe import new_check_evaluations
from monitor_pipeline.evaluation.incidents import lead_before_latency, match_alerts


def demo_alerts(
    cfg: Any,
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    incidents_file: str | Path | None = None,
    days: int = 1,
    out: Callable[[str], None] = print,
    clock: Callable[[], dt.datetime] = utcnow,
) -> dict:
    """Evaluate new findings and check evaluations, deliver (local JSONL + console unless Slack is set), summarise."""
    outbox, now = Outbox.in_data_dir(cfg.data_path()), clock()
    checks, check_cursor = new_check_evaluations(
        instance, defs.get_repository_def().asset_graph.asset_check_keys, outbox, now
    )
    result = alert_pass(cfg, outbox, checks, check_cursor, now, clock, console=lambda line: out(f"  {line}"))
    if incidents_file and Path(incidents_file).is_file():
        # a firing message opens an alert; its onset inside a labeled window (+- 1 h) attributes it to that incident
        truth = json.loads(Path(incidents_file).read_text())
        result["vs_incidents"] = match_alerts(truth, result["incidents"], days, dt.timedelta(hours=1))
        result["kv_cache_lead"] = lead_before_latency(truth, result["incidents"])
    c, seen = result["counts"], result["observations"]
    out(
        f"alerts:             {len(result['incidents'])} alert(s) opened on {result['keys']} key(s) from "
        f"{seen['findings']} findings and {seen['check_evaluations']} check evaluations; outbox sent {c['sent']}, "
        f"pending {c['pending']}, dead-letter {c['dead']}  (monitor-pipeline alerts list)"
    )
    if "vs_incidents" in result:
        v = result["vs_incidents"]
        out(
            f"                    per incident: {json.dumps(v['alerts_per_incident'])}; day-level check alerts on "
            f"incident days: {len(v['day_level_alerts'])}; false alerts per simulated day: {v['false_alerts_per_day']}"
        )
    for lead in result.get("kv_cache_lead", []):
        minutes = "never" if lead["lead_minutes"] is None else f"{lead['lead_minutes']:.0f} min"
        out(
            f"                    KV-cache saturation {lead['id']}: engine alert at {lead['engine_alert']}, latency alert "
            f"at {lead['latency_alert']}: flagged {minutes} ahead of the latency regression"
        )
    return result
