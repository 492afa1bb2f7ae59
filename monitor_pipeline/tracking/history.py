"""Earlier runs read back: a scalability target's champion and recent sweeps (and a new champion promoted), the
previous run of a golden probe set. What a new run is compared with."""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor_pipeline.tracking.store import Store

if TYPE_CHECKING:  # MLflow loads when a client is made (tracking.store)
    from mlflow.entities import Run

# The tags scalability runs carry and are searched by.
TARGET, STATUS, CHAMPION = "scalability.target", "scalability.status", "scalability.champion"
SUPERSEDED_BY = "scalability.superseded_by"


def _newest(store: Store, group: str, where: str, n: int) -> list[Run]:
    """The newest `n` runs of experiment `<prefix>/<group>` matching `where`; none while the experiment does not exist."""
    client = store.client()
    exp = client.get_experiment_by_name(store.experiment_name(group))
    if exp is None:
        return []
    return client.search_runs([exp.experiment_id], where, order_by=["attributes.start_time DESC"], max_results=n)


def scalability_champion(store: Store, group: str, target: str) -> Run | None:
    """The run tagged champion for this target (the latest successful sweep), if any."""
    found = _newest(store, group, f"tags.`{TARGET}` = '{target}' and tags.`{CHAMPION}` = 'true'", 1)
    return found[0] if found else None


def scalability_runs(store: Store, group: str, target: str, n: int) -> list[Run]:
    """The last `n` successful sweeps of the target, newest first."""
    return _newest(store, group, f"tags.`{TARGET}` = '{target}' and tags.`{STATUS}` = 'success'", n)


def promote_scalability_champion(store: Store, run_id: str, previous: Run | None) -> None:
    """Make `run_id` the target's champion; the previous champion keeps its data, its tag says it was superseded."""
    client = store.client()
    client.set_tag(run_id, CHAMPION, "true")
    if previous is not None and previous.info.run_id != run_id:
        client.set_tag(previous.info.run_id, CHAMPION, "false")
        client.set_tag(previous.info.run_id, SUPERSEDED_BY, run_id)


def previous_probe_run(store: Store, group: str, set_name: str, version: str, target: str) -> Run | None:
    """The latest finished run of the same probe set, version and target (tags `probe.set`, `probe.version`,
    `probe.target`), if any."""
    found = _newest(
        store,
        group,
        f"tags.`probe.set` = '{set_name}' and tags.`probe.version` = '{version}' and "
        f"tags.`probe.target` = '{target}' and attributes.status = 'FINISHED'",
        1,
    )
    return found[0] if found else None
