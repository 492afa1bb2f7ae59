"""The configured sources of one day: the files each names, the format that reads each, and what resolving warned of."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from monitor_pipeline.errors import InputError
from monitor_pipeline.ingest.engines.base import IngestRequest, SourceFile
from monitor_pipeline.ingest.formats import refused
from monitor_pipeline.ingest.formats.options import ReadOptions
from monitor_pipeline.ingest.request import expand_paths, resolve_file


@dataclass(frozen=True)
class SourceSpec:
    """One configured source: its name, paths (`{date}` stands for the day), format (or auto), model and options."""

    name: str
    paths: tuple[str, ...]
    fmt: str = "auto"
    model: str = "unknown"  # the model of rows that name none
    options: ReadOptions = field(default_factory=ReadOptions)


@dataclass(frozen=True)
class DaySources:
    """The day's files of every source with their formats, the warnings resolving them raised, and the refusals."""

    files: tuple[SourceFile, ...]
    warnings: tuple[str, ...] = ()
    refusals: tuple[str, ...] = ()  # one message per file no format reads (its lines are quarantined)

    @property
    def names(self) -> set[str]:
        """The sources that named at least one file."""
        return {f.source for f in self.files}

    @property
    def paths(self) -> list[str]:
        """Every file's path, in the order they are read."""
        return [f.path for f in self.files]

    def request(self, day: dt.date, *, redact: bool, now: dt.datetime | None = None, **limits: Any) -> IngestRequest:
        """The engine's request for `day`: these files, their warnings, model `unknown` where neither row nor source names one."""
        return IngestRequest(
            files=self.files,
            now=now or dt.datetime.now(dt.UTC),
            partition=day,
            defaults={"model": "unknown"},
            redact=redact,
            warnings=self.warnings,
            **limits,
        )


def resolve_sources(sources: Iterable[SourceSpec], day: dt.date) -> DaySources:
    """The files of `sources` for `day` with their formats; a file no format reads is refused, not an error.

    A refused file does not stop the run: it is read with a stand-in format that quarantines each line with the refusal
    as its detail. A path or glob that names no file is an InputError.
    """
    files, warnings, refusals = [], [], []
    for src in sources:
        paths = [p.replace("{date}", day.isoformat()) for p in src.paths]
        for p in expand_paths(paths):
            try:
                fmt, notes = resolve_file(p, src.fmt, src.options)
            except InputError as exc:
                fmt, notes = refused(str(exc)), []
                refusals.append(str(exc))
            warnings.extend(notes)
            files.append(
                SourceFile(
                    path=p, fmt=fmt, label=p, source=src.name, defaults=(("model", src.model),), options=src.options
                )
            )
    return DaySources(tuple(files), tuple(warnings), tuple(refusals))


def resolve_days(sources: Iterable[SourceSpec], days: Iterable[dt.date]) -> DaySources:
    """The files of `sources` over several days, each once (a live loop follows today's and yesterday's files); a
    day whose paths name no file yet is no error, but a source that names none on any day is."""
    files: dict[str, SourceFile] = {}
    warnings: list[str] = []
    refusals: list[str] = []
    srcs = list(sources)
    for src in srcs:
        found = False
        for day in days:
            try:
                part = resolve_sources([src], day)
            except InputError:
                continue
            found = True
            for f in part.files:
                files.setdefault(f.path, f)
            warnings += [w for w in part.warnings if w not in warnings]
            refusals += [r for r in part.refusals if r not in refusals]
        if not found:
            raise InputError(f"source {src.name}: its paths {', '.join(src.paths)} name no file on any followed day")
    return DaySources(tuple(files.values()), tuple(warnings), tuple(refusals))


def day_paths(sources: Iterable[SourceSpec], days: Iterable[dt.date]) -> list[str]:
    """The files the sources' paths name on `days`, without reading them (a day whose paths name none is skipped):
    what a sensor compares between ticks, where detecting each file's format every 30 s would be wasted reads."""
    out: list[str] = []
    for src in sources:
        for day in days:
            try:
                out += expand_paths([p.replace("{date}", day.isoformat()) for p in src.paths])
            except InputError:
                continue
    return list(dict.fromkeys(out))
