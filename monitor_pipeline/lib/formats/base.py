"""What a log format is: how its lines become a stage relation of string fields for one table."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from monitor_pipeline.lib.engines.dialect import DUCKDB, Dialect
from monitor_pipeline.lib.schema import TABLES, TableSchema

if TYPE_CHECKING:
    import pyarrow as pa

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
    # (local path, source_file label, max line bytes) -> DuckDB SQL of the whole file's stage relation, read in
    # one parallel pass by DuckDB's own readers; rows marked `skip` there mean "read this file the chunked way".
    file_stage: Callable[[str, str, int], str] | None = None

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


def line_reader_sql(path: str, max_line_bytes: int) -> str:
    """DuckDB's parallel CSV reader set to yield every line of `path` as one `text` column, in file order.

    No quotes, no escapes, a 4-byte delimiter (strict mode: a line holding it raises rather than being split);
    an empty line is a NULL row. It raises InvalidInputException on invalid UTF-8 or a line longer than
    `max_line_bytes`. A CR would end a line, so callers read files holding one the chunked way (`plain_file`).
    """
    return (f"read_csv({DUCKDB.str_lit(path)}, columns = {{'text': 'VARCHAR'}}, delim = '\x1c\x1d\x1e\x1f', "
            f"quote = '', escape = '', header = false, auto_detect = false, strict_mode = true, "
            f"new_line = '\\n', compression = 'none', max_line_size = {int(max_line_bytes)})")


def stage_arrow_schema(schema: TableSchema) -> pa.Schema:
    """The Arrow schema of a stage table for `schema` (what a PythonFormat yields)."""
    import pyarrow as pa

    return pa.schema(
        [("source_file", pa.string()), ("line_no", pa.int64()), ("line_bytes", pa.int64()),
         ("last_no_newline", pa.bool_()), ("text", pa.string()), ("parse_error", pa.string())]
        + [(f"f_{c.name}", pa.string()) for c in schema.columns]
    )
