"""Evaluation: observations (findings, check results, run failures, no data) -> key states -> outbox entries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from monitor_pipeline.alerts.config import AlertsConfig
from monitor_pipeline.alerts.findings import Finding
from monitor_pipeline.alerts.model import Alert, Observation
from monitor_pipeline.alerts.outbox import Outbox
from monitor_pipeline.alerts.policy import KeyState, apply, sweep

WATERMARK = "watermark"


def from_finding(f: Finding, now: dt.datetime) -> Observation:
    """A finding row as a bad observation at its window's end (capped at now)."""
    at = f.window_end or f.window_start or _partition_end(f.partition, now)
    return Observation(
        rule=f.rule,
        entity=f.entity,
        severity=f.severity,
        bad=True,
        at=min(_utc(at), now),
        title=f.title,
        source=f.source,
        value=f.value,
        threshold=f.threshold,
        expected=f.expected,
        window_start=f.window_start,
        window_end=f.window_end,
        detail=f.detail,
        dagster_run_id=f.dagster_run_id,
        mlflow_run_url=f.mlflow_run_url,
    )


def from_check(
    asset: str,
    check: str,
    passed: bool,
    severity: str,
    partition: str | None,
    timestamp: float,
    run_id: str | None,
    metadata: dict[str, Any],
    now: dt.datetime,
) -> Observation:
    """An asset check evaluation: failed is bad, passed resolves; at = the partition's end (capped), else its time."""
    at = _partition_end(partition, now) if partition else dt.datetime.fromtimestamp(timestamp, dt.UTC)
    value = next((metadata[k] for k in ("drift_share", "failed", "value", "p_value") if _num(metadata.get(k))), None)
    threshold = metadata.get("threshold") if _num(metadata.get("threshold")) else None
    mlflow = metadata.get("mlflow_run")
    window = _window(partition)
    return Observation(
        rule=f"check.{check}",
        entity=asset,
        severity="critical" if severity == "ERROR" else "warning",
        bad=not passed,
        at=min(at, now),
        title=f"check {check} on {asset} {'passed' if passed else 'failed'}"
        + (f" for {partition}" if partition else ""),
        source="asset_check",
        wall_clock=partition is None,
        value=value,
        threshold=threshold,
        window_start=window[0],
        window_end=window[1],
        detail={
            "partition": partition,
            **({"failed_expectations": metadata["failed_expectations"]} if "failed_expectations" in metadata else {}),
        },
        dagster_run_id=run_id,
        mlflow_run_url=mlflow if isinstance(mlflow, str) else None,
    )


def advance(
    outbox: Outbox,
    cfg: AlertsConfig,
    observations: Iterable[Observation],
    now: dt.datetime,
    meta: dict[str, str] | None = None,
) -> list[Alert]:
    """Apply observations in event-time order, resolve what went quiet, and commit alerts + states + `meta` at once."""
    obs = sorted(observations, key=lambda o: o.at)
    states = outbox.states()
    previous = outbox.meta(WATERMARK)
    # Data time advances only with observations about data (windows, partitions); wall-clock ones (probes, run
    # failures, no data) would otherwise resolve every alert of a backfill or replayed day at once.
    mark = max(
        [o.at for o in obs if not o.wall_clock] + ([dt.datetime.fromisoformat(previous)] if previous else []),
        default=None,
    )
    out: list[Alert] = []
    touched: dict[str, KeyState] = {}
    for o in obs:
        group = cfg.policy(o.rule, o.severity).group
        if group and group != o.rule:
            o = replace(o, rule=group, detail={**o.detail, "rule": o.rule})
        st = states.setdefault(o.key, KeyState(key=o.key, rule=o.rule, entity=o.entity))
        out += apply(st, o, cfg.policy(o.rule, o.severity))
        touched[st.key] = st
    mark = None if mark is None else min(mark, now)
    for st in states.values():
        upto = now if st.wall_clock else mark
        if upto is not None and (st.status == "firing" or st.flapping or st.bad_streak):
            out += sweep(st, upto, cfg.policy(st.rule, st.severity))
            touched[st.key] = st
    routed = [(a, cfg.policy(a.rule, a.severity).channels) for a in out]
    outbox.commit(routed, touched.values(), {**(meta or {}), **({WATERMARK: mark.isoformat()} if mark else {})}, now)
    return out


def _utc(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _window(partition: str | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    try:
        start = dt.datetime.combine(dt.date.fromisoformat(partition or ""), dt.time(), dt.UTC)
    except ValueError:
        return None, None
    return start, start + dt.timedelta(days=1)


def _partition_end(partition: str | None, now: dt.datetime) -> dt.datetime:
    return _window(partition)[1] or now
