"""Ingest files outside Dagster: resolve paths and globs, pick formats, run an engine."""

from __future__ import annotations

import datetime as dt
import glob
import os
from collections.abc import Sequence
from pathlib import Path

from monitor_pipeline.lib.engines.base import Engine, IngestRequest, IngestResult, SourceFile
from monitor_pipeline.lib.errors import InputError
from monitor_pipeline.lib.formats import detect_format, get_format

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


def build_request(paths: Sequence[str], fmt: str = "auto", source: str | None = None,
                  now: dt.datetime | None = None, partition: dt.date | None = None,
                  defaults: dict[str, str] | None = None, redact: bool = True, **limits: int) -> IngestRequest:
    """An IngestRequest for `paths`; each file is its own source unless `source` names one for all."""
    files = []
    for p in expand_paths(paths):
        if fmt == "auto" and is_remote(p):
            raise InputError(f"{p}: formats of remote files are not detected; pass --format")
        name = detect_format(p) if fmt == "auto" else fmt
        files.append(SourceFile(path=p, fmt=get_format(name), label=p, source=source or p))
    return IngestRequest(files=tuple(files), now=now or dt.datetime.now(dt.UTC), partition=partition,
                         defaults=defaults if defaults is not None else {"model": "unknown"}, redact=redact, **limits)


def ingest_paths(engine: Engine, paths: Sequence[str], fmt: str = "auto", **kwargs) -> IngestResult:
    """Ingest `paths` with `engine` and return the counts (see IngestResult)."""
    return engine.ingest(build_request(paths, fmt, **kwargs))
