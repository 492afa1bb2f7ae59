"""One alerting pass outside Dagster (demo, CLI) and the pieces the sensors share: config, transports, findings."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from monitor_pipeline.alerts.config import AlertsConfig, load_alerts_config
from monitor_pipeline.alerts.deliver import Clock, DeliveryReport, deliver, utcnow
from monitor_pipeline.alerts.findings import FindingStore
from monitor_pipeline.alerts.model import Alert, Observation
from monitor_pipeline.alerts.outbox import Outbox
from monitor_pipeline.alerts.slack import LocalTransport, Transport, WebApiTransport, WebhookTransport
from monitor_pipeline.alerts.transitions import advance, from_finding

FINDINGS_CURSOR = "cursor:findings"
CHECKS_CURSOR = "cursor:checks"
CHECKS_DONE = "cursor:checks_done"


def alerts_config(cfg: Any) -> AlertsConfig:
    """The alerts YAML a PipelineConfig names (`alerting.config`), else the project's configs/alerts.yaml."""
    from monitor_pipeline.settings.paths import PROJECT_ROOT

    name = getattr(getattr(cfg, "alerting", None), "config", None)
    if not name:
        return load_alerts_config(PROJECT_ROOT / "configs" / "alerts.yaml")
    path = Path(os.path.expanduser(name))
    return load_alerts_config(path if path.is_absolute() else Path(cfg.root) / path)


def alert_file(data_dir: str | Path) -> Path:
    """Where alerts go when Slack is not configured."""
    return Path(data_dir) / "alerts" / "alerts.jsonl"


def transports(
    acfg: AlertsConfig,
    data_dir: str | Path,
    env: Mapping[str, str] | None = None,
    console: Callable[[str], None] | None = print,
) -> dict[str, Transport]:
    """Per channel: the Web API when its bot token is set (threads), else its webhook (cannot thread), else the local
    file. `SLACK_API_BASE_URL` points the Web API elsewhere (a proxy, the tests' loopback Slack)."""
    env = os.environ if env is None else env
    out: dict[str, Transport] = {}
    d = acfg.delivery
    for name, ch in acfg.channels.items():
        url, token = env.get(ch.webhook_env), env.get(ch.token_env)
        if token:
            out[name] = WebApiTransport(
                token,
                ch.slack_channel or f"#{name}",
                d.timeout_s,
                acfg.dagster_url,
                base_url=env.get("SLACK_API_BASE_URL"),
                mlflow_url=acfg.mlflow_url,
                reply_broadcast=ch.reply_broadcast,
                inline_retry_max_s=d.inline_retry_max_s,
            )
        elif url:
            out[name] = WebhookTransport(url, d.timeout_s, acfg.dagster_url, acfg.mlflow_url)
        else:
            out[name] = LocalTransport(alert_file(data_dir), name, console, acfg.dagster_url, acfg.mlflow_url)
    return out


def new_findings(outbox: Outbox, store: FindingStore, now: dt.datetime) -> tuple[list[Observation], dict[str, str]]:
    """Findings above the stored cursor as observations, and the cursor to commit with them."""
    cursor = int(outbox.meta(FINDINGS_CURSOR, "0") or 0)
    rows = store.since(cursor)
    meta = {FINDINGS_CURSOR: str(rows[-1].seq)} if rows else {}
    return [from_finding(f, now) for f in rows], meta


def unseen_check_records(records: Iterable[Any], outbox: Outbox, now: dt.datetime) -> tuple[list[Any], dict[str, str]]:
    """The finished check-evaluation records not seen yet (oldest first) and the cursor to commit with them.

    `records` are the orchestrator's execution records (`id`, `status.value`, `event`, `create_timestamp`). The cursor
    is a low-water mark of record ids plus the ids done above it: a record is created when its run is planned and filled
    in when the check ends, so ids do not complete in order.
    """
    low = int(outbox.meta(CHECKS_CURSOR, "0") or 0)
    done = set(json.loads(outbox.meta(CHECKS_DONE, "[]") or "[]"))
    pending, fresh = [], []
    stale = now.timestamp() - 86400  # a record still planned after a day belongs to a run that died: stop waiting
    for rec in records:
        if rec.id <= low or rec.id in done:
            continue
        if rec.status.value in ("SUCCEEDED", "FAILED") and rec.event is not None:
            fresh.append(rec)
        elif rec.status.value == "PLANNED" and rec.create_timestamp > stale:
            pending.append(rec.id)
    fresh.sort(key=lambda r: r.id)
    ids = sorted(done | {r.id for r in fresh})
    new_low = min(pending) - 1 if pending else max(ids, default=low)
    if not fresh and new_low == low:
        return fresh, {}
    return fresh, {CHECKS_CURSOR: str(max(new_low, low)), CHECKS_DONE: json.dumps([i for i in ids if i > new_low])}


def run_once(
    cfg: Any,
    observations: Iterable[Observation] = (),
    meta: dict[str, str] | None = None,
    clock: Clock = utcnow,
    env: Mapping[str, str] | None = None,
    console: Callable[[str], None] | None = print,
    send: bool = True,
) -> tuple[list[Alert], DeliveryReport | None]:
    """New findings (+ `observations`) into the outbox, then one delivery pass."""
    acfg = alerts_config(cfg)
    data = cfg.data_path()
    outbox = Outbox.in_data_dir(data)
    now = clock()
    found, cursor = new_findings(outbox, FindingStore(cfg.findings_path()), now)
    alerts = advance(outbox, acfg, [*found, *observations], now, {**cursor, **(meta or {})})
    report = deliver(outbox, transports(acfg, data, env, console), acfg.delivery, clock) if send else None
    return alerts, report


def alert_pass(
    cfg: Any,
    outbox: Outbox,
    checks: list[Observation],
    check_cursor: dict[str, str],
    now: dt.datetime,
    clock: Clock = utcnow,
    console: Callable[[str], None] | None = print,
) -> dict[str, Any]:
    """New findings and `checks` into the outbox, one delivery pass (local file + console unless Slack is set), and what
    it did: observations, new messages, delivery, channels and the outbox `summary`."""
    acfg, data = alerts_config(cfg), cfg.data_path()
    found, find_cursor = new_findings(outbox, FindingStore(cfg.findings_path()), now)
    new = advance(outbox, acfg, [*found, *checks], now, {**find_cursor, **check_cursor})
    ways = transports(acfg, data, console=console)
    report = deliver(outbox, ways, acfg.delivery, clock)
    return {
        "observations": {"findings": len(found), "check_evaluations": len(checks)},
        "new_messages": len(new),
        "delivery": report.as_dict(),
        "channels": {c: t.name for c, t in ways.items()},
        **summary(outbox),
    }


def summary(outbox: Outbox) -> dict[str, Any]:
    """Entries per status, per key and kind: what the demo reports against the injected incidents."""
    entries = outbox.entries(limit=10**6)
    per_key: dict[str, Counter] = {}
    chans: dict[str, set[str]] = {}
    firsts = []  # one entry per message, however many channels it went to
    for e in entries:
        msg = e.idempotency_key.split(":")[0]
        if msg not in chans:
            firsts.append(e)
            per_key.setdefault(e.alert_key, Counter())[e.kind] += 1
        chans.setdefault(msg, set()).add(e.channel)
    return {
        "counts": outbox.counts(),
        "keys": len(per_key),
        "per_key": {k: dict(v) for k, v in sorted(per_key.items())},
        "incidents": [
            {
                "key": e.alert_key,
                "severity": e.severity,
                "since": e.alert.since and e.alert.since.isoformat(),
                "onset": (e.alert.window_start or e.alert.since or e.alert.at).isoformat(),
                "end": (e.alert.window_end or e.alert.at).isoformat(),
                "at": e.alert.at.isoformat(),
                "channels": sorted(chans[e.idempotency_key.split(":")[0]]),
                "status": e.status,
            }
            for e in firsts
            if e.kind in ("firing", "flapping")
        ],
    }
