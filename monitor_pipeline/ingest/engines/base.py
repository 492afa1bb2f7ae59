"""What an engine is asked to ingest and what it reports back (the same for DuckDB and Spark)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from monitor_pipeline.ingest.formats.base import Format
from monitor_pipeline.ingest.formats.options import ReadOptions


@dataclass(frozen=True)
class SourceFile:
    """One input file: where it is, its format, the label stored as source_file, and its source name."""

    path: str
    fmt: Format
    label: str
    source: str
    # Values for columns a row leaves empty (e.g. the source's model), over IngestRequest.defaults.
    defaults: tuple[tuple[str, str], ...] = ()
    # The source's reading instructions (time zone, origin, ...); the field mapping is already bound into `fmt`.
    options: ReadOptions = field(default_factory=ReadOptions)


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
    # What resolving the files found to say (assumptions, unmapped fields, refused files); copied into the result.
    warnings: tuple[str, ...] = ()


@dataclass
class IngestResult:
    """Counts of one ingestion: every physical line read is one clean row, one quarantined row, one skipped line
    (blank, header, comment, continuation: listed in `skipped_lines`) or, in a partitioned run, another day's."""

    read: int = 0  # physical lines of the files (after gzip is undone), counted from the files themselves
    clean: int = 0
    quarantined: int = 0
    skipped: int = 0
    other_partitions: int = 0  # lines whose day is another partition's (partitioned runs only)
    by_reason: Counter = field(default_factory=Counter)
    by_skip: Counter = field(default_factory=Counter)
    by_table: dict[str, dict[str, int]] = field(default_factory=dict)
    files: dict[str, dict] = field(default_factory=dict)  # source_file label -> {format, lines}
    warnings: list[str] = field(default_factory=list)  # every assumption made (time zone, ...) and what was not read
    days: list[str] = field(default_factory=list)
    windows_5m: int = 0
    windows_1h: int = 0
    resource_windows_5m: int = 0
    resource_windows_1h: int = 0
    engine_windows_5m: int = 0  # serving engines' (vLLM, SGLang, TGI) windows
    engine_windows_1h: int = 0
    redacted: int = 0  # text values in which PII or a secret was replaced

    def add_file(self, label: str, fmt: str, lines: int) -> None:
        """Count one file's physical lines."""
        self.read += lines
        entry = self.files.setdefault(label, {"format": fmt, "lines": 0})
        entry["lines"] += lines

    def add_table(
        self,
        table: str,
        clean: int,
        quarantined: int,
        skipped: int,
        other: int,
        reasons: dict[str, int],
        skips: dict[str, int],
    ) -> None:
        """Fold one table's counts into the totals."""
        self.clean += clean
        self.quarantined += quarantined
        self.skipped += skipped
        self.other_partitions += other
        self.by_reason.update(reasons)
        self.by_skip.update(skips)
        t = self.by_table.setdefault(table, {"clean": 0, "quarantined": 0, "skipped": 0, "other_partitions": 0})
        for k, v in (("clean", clean), ("quarantined", quarantined), ("skipped", skipped), ("other_partitions", other)):
            t[k] += v

    def warn(self, message: str) -> None:
        """Record an assumption or an omission, once."""
        if message not in self.warnings:
            self.warnings.append(message)

    @property
    def accounted(self) -> int:
        """Lines that ended somewhere: clean, quarantined, skipped or left to another partition."""
        return self.clean + self.quarantined + self.skipped + self.other_partitions

    def summary(self) -> dict:
        """The JSON object the CLI prints."""
        if self.read != self.accounted:
            raise AssertionError(f"accounting broken: read {self.read} lines, accounted for {self.accounted}")
        return {
            "read": self.read,
            "clean": self.clean,
            "quarantined": self.quarantined,
            "skipped": self.skipped,
            "other_partitions": self.other_partitions,
            "by_reason": dict(sorted(self.by_reason.items())),
            "by_skip": dict(sorted(self.by_skip.items())),
            "windows_5m": self.windows_5m,
            "windows_1h": self.windows_1h,
            "resource_windows_5m": self.resource_windows_5m,
            "resource_windows_1h": self.resource_windows_1h,
            "engine_windows_5m": self.engine_windows_5m,
            "engine_windows_1h": self.engine_windows_1h,
            "redacted": self.redacted,
            "by_table": self.by_table,
            "files": self.files,
            "warnings": self.warnings,
            "days": sorted(self.days),
        }


class Engine(Protocol):
    """Turns raw files into clean tables, quarantine and windows."""

    def ingest(self, request: IngestRequest) -> IngestResult:
        """Run one ingestion batch and store its results."""
        ...
