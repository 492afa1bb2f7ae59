"""One day's ingestion in numbers: the counts each output table reports, and the accounting its checks verify."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from monitor_pipeline.escape import markdown_table
from monitor_pipeline.ingest.engines.base import IngestResult

QUARANTINE_WARN_SHARE = 0.05  # a day with more of its lines quarantined than this is worth a look


def totals(result: IngestResult) -> dict[str, int]:
    """Where the day's lines went: read = clean + quarantined + skipped + other_partitions."""
    return {
        "read": result.read,
        "clean": result.clean,
        "quarantined": result.quarantined,
        "skipped": result.skipped,
        "other_partitions": result.other_partitions,
    }


def table_counts(result: IngestResult) -> dict[str, dict[str, int]]:
    """Per output table, the counts its asset reports; `row_count` is the rows the table holds for the day."""
    tables = result.by_table
    return {
        "requests": {**totals(result), "row_count": tables.get("requests", {}).get("clean", 0)},
        "quarantine": {"row_count": result.quarantined},
        "request_windows": {
            "windows_5m": result.windows_5m,
            "windows_1h": result.windows_1h,
            "row_count": result.windows_5m + result.windows_1h,
        },
        "resources": {"row_count": tables.get("resources", {}).get("clean", 0)},
        "resource_windows": {
            "windows_5m": result.resource_windows_5m,
            "windows_1h": result.resource_windows_1h,
            "row_count": result.resource_windows_5m + result.resource_windows_1h,
        },
        "engine_windows": {
            "windows_5m": result.engine_windows_5m,
            "windows_1h": result.engine_windows_1h,
            "row_count": result.engine_windows_5m + result.engine_windows_1h,
        },
        "offline_log": {"row_count": tables.get("offline_log", {}).get("clean", 0)},
    }


@dataclass(frozen=True)
class Accounting:
    """The lines of the day's files against what is stored for them: nothing is lost when the two are equal."""

    read: int  # physical lines of the files
    stored: Mapping[str, int]  # rows now in each table for the day and the run's sources, read back from the warehouse
    other_partitions: int  # lines that belong to another day

    @property
    def stored_plus_other_days(self) -> int:
        """Every stored row of the day plus the lines of other days."""
        return sum(self.stored.values()) + self.other_partitions

    @property
    def nothing_lost(self) -> bool:
        """True when every line read is a stored row or another day's line."""
        return self.stored_plus_other_days == self.read


def quarantine_share(result: IngestResult) -> float:
    """The share of the day's lines that were quarantined (0 when no line was read)."""
    return result.quarantined / result.read if result.read else 0.0


def quarantine_table(rows: Sequence[tuple[str, int, str, str, str | None]]) -> str:
    """Markdown of quarantined lines (file, line, reason, field, detail): file names without folders, details cut to 120."""
    return markdown_table(
        ["file:line", "reason", "field", "detail"],
        [(f"{f.rsplit('/', 1)[-1]}:{n}", r, fld, (d or "")[:120]) for f, n, r, fld, d in rows],
    )
