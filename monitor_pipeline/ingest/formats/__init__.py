"""One parser per log format, chosen by name or detected (with confidence, or refused) from a file's head."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from monitor_pipeline.errors import InputError
from monitor_pipeline.ingest.formats.azure import AZURE_TRACE
from monitor_pipeline.ingest.formats.base import Format, LineFormat, PythonFormat, StageBuilder
from monitor_pipeline.ingest.formats.burstgpt import BURSTGPT
from monitor_pipeline.ingest.formats.csv import CSV
from monitor_pipeline.ingest.formats.jsonl import JSONL, RESOURCES_JSONL
from monitor_pipeline.ingest.formats.litellm import LITELLM
from monitor_pipeline.ingest.formats.nvidia_smi import NVIDIA_SMI
from monitor_pipeline.ingest.formats.openai import OPENAI_BATCH, OPENAI_RESPONSE
from monitor_pipeline.ingest.formats.options import ReadOptions
from monitor_pipeline.ingest.formats.prometheus import PROMETHEUS
from monitor_pipeline.ingest.formats.seedlogs import OFFLINE_LOG, ONLINE_LOG
from monitor_pipeline.ingest.formats.vllm_log import VLLM_LOG
from monitor_pipeline.ingest.lines import iter_lines
from monitor_pipeline.warehouse.schema import REQUESTS

if TYPE_CHECKING:
    import pyarrow as pa

FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        JSONL,
        RESOURCES_JSONL,
        CSV,
        ONLINE_LOG,
        OFFLINE_LOG,
        AZURE_TRACE,
        NVIDIA_SMI,
        PROMETHEUS,
        VLLM_LOG,
        OPENAI_BATCH,
        OPENAI_RESPONSE,
        LITELLM,
        BURSTGPT,
    )
}

__all__ = ["FORMATS", "Format", "LineFormat", "PythonFormat", "detect_format", "get_format", "refused"]


def get_format(name: str) -> Format:
    """The format called `name`, or an error listing the known ones."""
    try:
        return FORMATS[name]
    except KeyError:
        raise InputError(f"unknown format {name!r}; known formats: {', '.join(sorted(FORMATS))}") from None


def detect_format(path: str | Path, options: ReadOptions | None = None) -> str:
    """The name of the format of `path`; InputError when no format claims it with confidence."""
    from monitor_pipeline.ingest.formats.detect import detect

    return detect(path, options).name


def refused(why: str) -> PythonFormat:
    """The stand-in format of a file no format reads: every line quarantined, `why` as its detail (nothing lost)."""

    def parse(path: Path, label: str, options: ReadOptions) -> Iterator[pa.Table]:
        out = StageBuilder(REQUESTS, label)
        for line in iter_lines(path):
            out.add(
                line.line_no,
                line.nbytes,
                line.last_no_newline,
                line.text,
                bad_raw=line.bad_raw,
                error=f"file refused: {why}",
            )
            if out.full():
                yield out.take()
        if len(out):
            yield out.take()

    return PythonFormat(name="refused", table="requests", parse=parse, description="a file no format reads")
