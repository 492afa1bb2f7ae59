"""What the alert sensor reads from Dagster: asset check evaluations not seen yet, as observations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import dagster as dg

from monitor_pipeline.alerts.cycle import unseen_check_records
from monitor_pipeline.alerts.model import Observation
from monitor_pipeline.alerts.outbox import Outbox
from monitor_pipeline.alerts.transitions import from_check


def _plain(v: Any) -> Any:
    return getattr(v, "value", v)


def new_check_evaluations(
    instance: dg.DagsterInstance,
    check_keys: Iterable[dg.AssetCheckKey],
    outbox: Outbox,
    now: dt.datetime,
    per_check: int = 200,
) -> tuple[list[Observation], dict[str, str]]:
    """Evaluations of the checks not seen yet (see `unseen_check_records`), as observations (failed: bad, passed:
    resolves), oldest first, and the cursor to commit with them."""
    history = instance.event_log_storage.get_asset_check_execution_history
    fresh, cursor = unseen_check_records(
        [rec for key in check_keys for rec in history(key, limit=per_check)], outbox, now
    )
    out, partitions = [], {}
    for rec in fresh:
        entry = rec.event
        ev = entry.dagster_event.event_specific_data
        partition = ev.partition or rec.partition
        if partition is None and entry.run_id:
            if entry.run_id not in partitions:
                run = instance.get_run_by_id(entry.run_id)
                partitions[entry.run_id] = run.tags.get("dagster/partition") if run else None
            partition = partitions[entry.run_id]
        meta = {k: _plain(v) for k, v in ev.metadata.items()}
        out.append(
            from_check(
                ev.asset_key.to_user_string(),
                ev.check_name,
                ev.passed,
                ev.severity.value,
                partition,
                entry.timestamp,
                entry.run_id,
                meta,
                now,
            )
        )
    return out, cursor
