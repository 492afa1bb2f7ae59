"""BurstGPT traces (Azure OpenAI GPT-3.5/GPT-4 serving, HPMLL/BurstGPT): a CSV whose clock counts seconds from the
trace start, so the source must say when that was (`time.origin`, or --origin): time is never invented."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from monitor_pipeline.ingest.formats.base import PythonFormat
from monitor_pipeline.ingest.formats.csv import parse_csv
from monitor_pipeline.ingest.formats.options import ReadOptions

if TYPE_CHECKING:
    import pyarrow as pa

HEADER = ("Timestamp", "Model", "Request tokens", "Response tokens", "Total tokens", "Log Type")
FIELDS = {
    "timestamp": "Timestamp",
    "model": "Model",
    "input_tokens": "Request tokens",
    "output_tokens": "Response tokens",
    "operation": "Log Type",
    "user_id": "Session ID",
}
# Read by nothing on purpose: the sum of two columns that are read, and a duration whose meaning is not documented.
IGNORED = ("Total tokens", "Elapsed time")


def parse_burstgpt(path: Path, label: str, options: ReadOptions) -> Iterator[pa.Table]:
    """Stage tables of a BurstGPT CSV: its columns mapped, and a response of 0 tokens marked as a failed request
    (the trace's own convention: "failure that Response tokens are 0s")."""
    import pyarrow as pa
    import pyarrow.compute as pc

    fields = {**FIELDS, **options.field_map()}
    for table in parse_csv(path, label, replace(options, fields=tuple(fields.items()))):
        failed = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(table.column("f_output_tokens")), "0"), False)
        status = pc.if_else(failed, pa.scalar("error"), table.column("f_status"))
        error = pc.if_else(failed, pa.scalar("zero_response_tokens"), table.column("f_error_type"))
        table = table.set_column(table.schema.get_field_index("f_status"), "f_status", status)
        yield table.set_column(table.schema.get_field_index("f_error_type"), "f_error_type", error)


BURSTGPT = PythonFormat(
    header_line=True,
    name="burstgpt",
    table="requests",
    parse=parse_burstgpt,
    takes_mapping=True,
    description="BurstGPT trace CSV (Timestamp in seconds from the trace start: needs time.origin "
    "or --origin; Response tokens 0 = a failed request)",
)
