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
    # Incremental reads (ingest.incremental): `path` holds the new lines of the file `label`, the first of them its
    # line `first_line`, after `header_lines` copied header lines that are not stored again; rows of `label` from
    # `first_line` on are replaced. `from_day`: the day of the last line read before (where earlier rows may be).
    first_line: int = 1
    header_lines: int = 0
    from_day: dt.date | None = None


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
    # Incremental: append the files' rows (replacing their labels' rows from each file's first_line on) instead of
    # replacing whole (source, day) slices; dedupe against the rows already stored; recompute only touched windows.
    append: bool = False
    relabels: tuple[tuple[str, str], ...] = ()  # (old source_file, new source_file) applied before anything else
    cursors: tuple = ()  # ingest.incremental.Cursor rows to store once the data is committed
    dropped_cursors: tuple[str, ...] = ()  # cursor labels to remove (renamed ones)


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
    pending_bytes: int = 0  # incremental: bytes of partial last lines held back until their newline arrives
    new_bytes: int = 0  # incremental: bytes of complete new lines read
    windows_recomputed: int = 0  # incremental: 5-minute and 1-hour buckets recomputed
    reconciliation: dict = field(default_factory=dict)  # batch over live files: label -> live vs re-read counts

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
            **(
                {
                    "new_bytes": self.new_bytes,
                    "pending_bytes": self.pending_bytes,
                    "windows_recomputed": self.windows_recomputed,
                }
                if self.new_bytes or self.pending_bytes or self.windows_recomputed
                else {}
            ),
            **({"reconciliation": self.reconciliation} if self.reconciliation else {}),
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
