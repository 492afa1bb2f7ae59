"""What a log format is: how its lines become a stage relation of string fields for one table."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from monitor_pipeline.ingest.engines.dialect import DUCKDB, Dialect
from monitor_pipeline.ingest.formats.options import ReadOptions
from monitor_pipeline.warehouse.schema import TABLES, TableSchema

if TYPE_CHECKING:
    import pyarrow as pa

# Columns every stage relation carries besides f_<column> for each column of its table. A stage has one row per
# physical line: `skip` is NULL for a record, else why the line is no record (blank, header, comment, continuation).
STAGE_BASE = ("source_file", "line_no", "skip", "line_bytes", "last_no_newline", "text", "bad_raw", "parse_error")
SKIP_REASONS: dict[str, str] = {
    "blank": "an empty or whitespace-only line",
    "header": "the header row of a CSV-like file (repeated headers too)",
    "comment": "a comment line (# in Prometheus text)",
    "continuation": "a further line of a record that spans several lines (a quoted CSV field with newlines)",
    "not_stats": "a line of a server log that is no statistics line (startup, access log, warnings, tracebacks)",
}


@dataclass(frozen=True)
class LineFormat:
    """A format parsed by SQL, line by line, over `lines(source_file, line_no, skip, line_bytes, last_no_newline, text,
    bad_raw)`.

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
    # one parallel pass by DuckDB's own readers; any row with a `skip` there means "read this file the chunked way".
    file_stage: Callable[[str, str, int], str] | None = None
    # A source's field mapping -> this format reading those fields (None: the format takes no mapping).
    binder: Callable[[ReadOptions], LineFormat] | None = field(default=None, compare=False)
    # A JSON format's column -> key specs (what detection checks a file's head against).
    json_columns: dict[str, list[str]] | None = field(default=None, compare=False)

    def bind(self, options: ReadOptions) -> LineFormat:
        """This format reading a source's mapped fields and constants."""
        if not options.fields and not options.constants and not (options.unmapped == "keep" and options.extra_keys):
            return self
        if self.binder is None:
            raise ValueError(f"format {self.name} takes no field mapping")
        return self.binder(options)

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
            f"SELECT source_file, line_no, skip, line_bytes, last_no_newline, text, bad_raw, "
            f"CASE WHEN skip IS NOT NULL THEN NULL WHEN text IS NULL THEN 'not valid UTF-8' ELSE {error} END "
            f"AS parse_error, "
            f"{', '.join(cols)} FROM ({inner}) p"
        )


@dataclass(frozen=True)
class PythonFormat:
    """A format parsed in Python into stage tables (multi-line records, units, small scrape files)."""

    name: str
    table: str
    description: str
    # (path, source_file label, options) -> stage tables with one row per physical line of the file
    parse: Callable[[Path, str, ReadOptions], Iterator[pa.Table]]
    options: ReadOptions = field(default_factory=ReadOptions)
    takes_mapping: bool = False
    header_line: bool = False  # the file's first line names the columns (needed to read any later line)

    @property
    def schema(self) -> TableSchema:
        """The canonical table this format fills."""
        return TABLES[self.table]

    def bind(self, options: ReadOptions) -> PythonFormat:
        """This format with a source's reading options (mapping, time) applied at parse time."""
        if (options.fields or options.constants) and not self.takes_mapping:
            raise ValueError(f"format {self.name} takes no field mapping")
        return replace(self, options=options)

    def stages(self, path: Path, label: str) -> Iterator[pa.Table]:
        """The stage tables of one file."""
        return self.parse(path, label, self.options)


Format = LineFormat | PythonFormat


def has_header(fmt: Format) -> bool:
    """Whether reading lines from the middle of a file of this format needs its first line (a CSV header)."""
    return bool(fmt.header) if isinstance(fmt, LineFormat) else fmt.header_line


def line_reader_sql(path: str, max_line_bytes: int) -> str:
    """DuckDB's parallel CSV reader set to yield every line of `path` as one `text` column, in file order.

    No quotes, no escapes, a 4-byte delimiter (strict mode: a line holding it raises rather than being split);
    an empty line is a NULL row. It raises InvalidInputException on invalid UTF-8 or a line longer than
    `max_line_bytes`. A CR would end a line, so callers read files holding one the chunked way (`plain_file`).
    """
    return (
        f"read_csv({DUCKDB.str_lit(path)}, columns = {{'text': 'VARCHAR'}}, delim = '\x1c\x1d\x1e\x1f', "
        f"quote = '', escape = '', header = false, auto_detect = false, strict_mode = true, "
        f"new_line = '\\n', compression = 'none', max_line_size = {int(max_line_bytes)})"
    )


def stage_arrow_schema(schema: TableSchema) -> pa.Schema:
    """The Arrow schema of a stage table for `schema` (what a PythonFormat yields)."""
    import pyarrow as pa

    return pa.schema(
        [
            ("source_file", pa.string()),
            ("line_no", pa.int64()),
            ("skip", pa.string()),
            ("line_bytes", pa.int64()),
            ("last_no_newline", pa.bool_()),
            ("text", pa.string()),
            ("bad_raw", pa.string()),
            ("parse_error", pa.string()),
        ]
        + [(f"f_{c.name}", pa.string()) for c in schema.columns]
    )


class StageBuilder:
    """Collects a Python-parsed format's stage rows (one per physical line) and yields them as Arrow batches."""

    def __init__(self, schema: TableSchema, label: str, batch: int = 50_000) -> None:
        self.arrow = stage_arrow_schema(schema)
        self.columns = schema.names()
        self.label, self.batch = label, batch
        self._rows: dict[str, list] = {n: [] for n in self.arrow.names}

    def add(
        self,
        line_no: int,
        nbytes: int,
        last_no_newline: bool,
        text: str | None,
        bad_raw: str | None = None,
        skip: str | None = None,
        error: str | None = None,
        values: dict[str, str | None] | None = None,
    ) -> None:
        """One line: a record (`values`), a bad record (`error`) or a skipped line (`skip`)."""
        r = self._rows
        r["source_file"].append(self.label)
        r["line_no"].append(line_no)
        r["skip"].append(skip)
        r["line_bytes"].append(nbytes)
        r["last_no_newline"].append(last_no_newline)
        r["text"].append(text)
        r["bad_raw"].append(bad_raw)
        r["parse_error"].append(None if skip else ("not valid UTF-8" if text is None and error is None else error))
        values = values or {}
        for c in self.columns:
            v = values.get(c)
            r[f"f_{c}"].append(v if v != "" else None)

    def full(self) -> bool:
        """True when a batch is ready."""
        return len(self._rows["line_no"]) >= self.batch

    def take(self) -> pa.Table:
        """The rows collected so far, as one table; the builder starts empty again."""
        import pyarrow as pa

        out = pa.Table.from_pydict(self._rows, schema=self.arrow)
        self._rows = {n: [] for n in self.arrow.names}
        return out

    def __len__(self) -> int:
        return len(self._rows["line_no"])
