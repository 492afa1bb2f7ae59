"""What an engine is asked to ingest and what it reports back (the same for DuckDB and Spark)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from monitor_pipeline.lib.formats.base import Format


@dataclass(frozen=True)
class SourceFile:
    """One input file: where it is, its format, the label stored as source_file, and its source name."""

    path: str
    fmt: Format
    label: str
    source: str
    # Values for columns a row leaves empty (e.g. the source's model), over IngestRequest.defaults.
    defaults: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class IngestRequest:
    """A batch of files to ingest; with `partition` set, only that UTC day's lines are kept and replaced."""

    files: tuple[SourceFile, ...]
    now: dt.datetime
    partition: dt.date | None = None
    max_line_bytes: int = 1_000_000
    raw_cap: int = 2048
    max_future_skew_s: int = 300
    defaults: dict[str, str] = field(default_factory=dict)
    # Replace PII and secrets in prompt/completion and quarantined lines by typed placeholders before storing.
    redact: bool = True


@dataclass
class IngestResult:
    """Counts of one ingestion; `read == clean + quarantined` always holds."""

    read: int = 0
    clean: int = 0
    quarantined: int = 0
    skipped: int = 0  # blank, header and comment lines: not records
    other_partitions: int = 0  # records whose day is another partition's (partitioned runs only)
    by_reason: Counter = field(default_factory=Counter)
    by_table: dict[str, dict[str, int]] = field(default_factory=dict)
    days: list[str] = field(default_factory=list)
    windows_5m: int = 0
    windows_1h: int = 0
    resource_windows_5m: int = 0
    resource_windows_1h: int = 0
    redacted: int = 0  # text values in which PII or a secret was replaced

    def add_table(self, table: str, read: int, clean: int, quarantined: int, reasons: dict[str, int]) -> None:
        """Fold one table's counts into the totals."""
        self.read += read
        self.clean += clean
        self.quarantined += quarantined
        self.by_reason.update(reasons)
        t = self.by_table.setdefault(table, {"read": 0, "clean": 0, "quarantined": 0})
        t["read"] += read
        t["clean"] += clean
        t["quarantined"] += quarantined

    def summary(self) -> dict:
        """The JSON object the CLI prints."""
        assert self.read == self.clean + self.quarantined, "accounting broken: read != clean + quarantined"
        return {
            "read": self.read, "clean": self.clean, "quarantined": self.quarantined,
            "by_reason": dict(sorted(self.by_reason.items())), "skipped": self.skipped,
            "other_partitions": self.other_partitions,
            "windows_5m": self.windows_5m, "windows_1h": self.windows_1h,
            "resource_windows_5m": self.resource_windows_5m, "resource_windows_1h": self.resource_windows_1h,
            "redacted": self.redacted, "by_table": self.by_table, "days": sorted(self.days),
        }


class Engine(Protocol):
    """Turns raw files into clean tables, quarantine and windows."""

    def ingest(self, request: IngestRequest) -> IngestResult:
        """Run one ingestion batch and store its results."""
        ...
