"""What a log format is: how its lines become a stage relation of string fields for one table."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from monitor_pipeline.lib.engines.dialect import Dialect
from monitor_pipeline.lib.schema import TABLES, TableSchema

# Columns every stage relation carries besides f_<column> for each column of its table.
STAGE_BASE = ("source_file", "line_no", "skip", "line_bytes", "last_no_newline", "text", "parse_error")


@dataclass(frozen=True)
class LineFormat:
    """A format parsed by SQL, line by line, over `lines(source_file, line_no, skip, line_bytes, last_no_newline, text)`.

    `fields(d)` returns (parse_error SQL, {column: SQL string expression}); both may use `text` and
    the `prelude` columns, computed once per line in an inner SELECT.
    """

    name: str
    table: str
    description: str
    fields: Callable[[Dialect], tuple[str, dict[str, str]]]
    prelude: Callable[[Dialect], dict[str, str]] = lambda d: {}
    # A first line matching this regex is a header: counted as skipped, not as a record.
    header: str | None = None

    @property
    def schema(self) -> TableSchema:
        """The canonical table this format fills."""
        return TABLES[self.table]

    def stage_sql(self, d: Dialect, lines: str) -> str:
        """SELECT of the stage relation over the relation `lines`."""
        pre = self.prelude(d)
        inner = "SELECT *" + "".join(f", {expr} AS {name}" for name, expr in pre.items()) + f" FROM {lines}"
        error, fields = self.fields(d)
        cols = []
        for c in self.schema.columns:
            expr = fields.get(c.name)
            cols.append(f"NULLIF({expr}, '') AS f_{c.name}" if expr else f"CAST(NULL AS STRING) AS f_{c.name}")
        return (
            f"SELECT source_file, line_no, skip, line_bytes, last_no_newline, text, "
            f"CASE WHEN text IS NULL THEN 'not valid UTF-8' ELSE {error} END AS parse_error, "
            f"{', '.join(cols)} FROM ({inner}) p"
        )


@dataclass(frozen=True)
class PythonFormat:
    """A format parsed in Python into stage tables (multi-line records, units, small scrape files)."""

    name: str
    table: str
    description: str
    parse: Callable[[Path, str], Iterator[pa.Table]]  # (path, source_file label) -> stage tables

    @property
    def schema(self) -> TableSchema:
        """The canonical table this format fills."""
        return TABLES[self.table]


Format = LineFormat | PythonFormat


def stage_arrow_schema(schema: TableSchema) -> pa.Schema:
    """The Arrow schema of a stage table for `schema` (what a PythonFormat yields)."""
    return pa.schema(
        [("source_file", pa.string()), ("line_no", pa.int64()), ("line_bytes", pa.int64()),
         ("last_no_newline", pa.bool_()), ("text", pa.string()), ("parse_error", pa.string())]
        + [(f"f_{c.name}", pa.string()) for c in schema.columns]
    )
