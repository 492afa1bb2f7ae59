"""Ingest files outside Dagster: resolve paths and globs, pick formats, run an engine."""

from __future__ import annotations

import datetime as dt
import glob
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from monitor_pipeline.errors import InputError
from monitor_pipeline.ingest.engines.base import Engine, IngestRequest, IngestResult, SourceFile
from monitor_pipeline.ingest.formats import Format, get_format, refused
from monitor_pipeline.ingest.formats.detect import check, detect
from monitor_pipeline.ingest.formats.options import ReadOptions

REMOTE_SCHEMES = ("hdfs://", "s3a://", "s3://", "gs://", "abfs://", "file://")


def is_remote(path: str) -> bool:
    """True for a Hadoop-filesystem URI that only the Spark engine can read."""
    return path.startswith(REMOTE_SCHEMES) and not path.startswith("file://")


def expand_paths(patterns: Sequence[str]) -> list[str]:
    """Files named by paths, directories (all files inside, recursively) and globs, sorted; errors name the pattern."""
    out: list[str] = []
    for pat in patterns:
        if is_remote(pat):
            out.append(pat)
            continue
        pat = pat.removeprefix("file://")
        if any(ch in pat for ch in "*?["):
            hits = sorted(p for p in glob.glob(pat, recursive=True) if os.path.isfile(p))
            if not hits:
                raise InputError(f"{pat}: the pattern matches no file")
            out.extend(hits)
        elif os.path.isdir(pat):
            hits = sorted(str(p) for p in Path(pat).rglob("*") if p.is_file() and not p.name.startswith("."))
            if not hits:
                raise InputError(f"{pat}: the directory holds no file")
            out.extend(hits)
        elif os.path.isfile(pat):
            out.append(pat)
        else:
            raise InputError(f"{pat}: no such file or directory")
    return list(dict.fromkeys(out))


def resolve_file(path: str, fmt: str = "auto", options: ReadOptions | None = None) -> tuple[Format, list[str]]:
    """The format that reads `path` (detected, or the named one confirmed) bound to the source's options, and the
    warnings its head raised (unmapped fields, assumed time zones). Raises InputError when the file is refused."""
    options = options or ReadOptions()
    if is_remote(path):
        if fmt == "auto":
            raise InputError(f"{path}: formats of remote files are not detected; pass --format")
        return _bind(path, get_format(fmt), options), []
    verdict = detect(path, options) if fmt == "auto" else check(path, fmt, options)
    if verdict.extra_keys:
        options = replace(options, extra_keys=verdict.extra_keys)
    return _bind(path, get_format(verdict.name if fmt == "auto" else fmt), options), list(verdict.warnings)


def _bind(path: str, fmt: Format, options: ReadOptions) -> Format:
    try:
        return fmt.bind(options)
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from None


def build_request(
    paths: Sequence[str],
    fmt: str = "auto",
    source: str | None = None,
    now: dt.datetime | None = None,
    partition: dt.date | None = None,
    defaults: dict[str, str] | None = None,
    redact: bool = True,
    options: ReadOptions | None = None,
    strict: bool = True,
    **limits: Any,
) -> IngestRequest:
    """An IngestRequest for `paths`; each file is its own source unless `source` names one for all.

    `strict`: a file no format reads is an InputError (the CLI refuses the whole command). Otherwise (a scheduled
    run) such a file is still read, every line quarantined with the refusal as its detail, and named in warnings.
    """
    options = options or ReadOptions()
    files, warnings = [], []
    for p in expand_paths(paths):
        try:
            bound, notes = resolve_file(p, fmt, options)
        except InputError as exc:
            if strict:
                raise
            bound, notes = refused(str(exc)), [f"refused: {exc}"]
        warnings.extend(notes)
        files.append(SourceFile(path=p, fmt=bound, label=p, source=source or p, options=options))
    return IngestRequest(
        files=tuple(files),
        now=now or dt.datetime.now(dt.UTC),
        partition=partition,
        defaults=defaults if defaults is not None else {"model": "unknown"},
        redact=redact,
        warnings=tuple(warnings),
        **limits,
    )


def ingest_paths(engine: Engine, paths: Sequence[str], fmt: str = "auto", **kwargs) -> IngestResult:
    """Ingest `paths` with `engine` and return the counts (see IngestResult)."""
    return engine.ingest(build_request(paths, fmt, **kwargs))
