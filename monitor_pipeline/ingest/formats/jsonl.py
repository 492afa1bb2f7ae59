"""JSON Lines: one object a line, canonical keys or their OpenTelemetry GenAI / gateway aliases."""

from __future__ import annotations

from collections.abc import Callable

from monitor_pipeline.ingest.engines.dialect import DUCKDB, Dialect
from monitor_pipeline.ingest.formats.base import LineFormat, line_reader_sql
from monitor_pipeline.ingest.formats.options import ReadOptions, key_spec, parse_json_path
from monitor_pipeline.warehouse.schema import TABLES, TableSchema

# Whitespace DuckDB's JSON reader skips as an empty line; such a line makes the file take the chunked path.
_BLANK = " \t\r\n\x0b\x0c"


Columns = dict[str, list[str]]  # canonical column -> key specs read in priority order


def default_columns(schema: TableSchema) -> Columns:
    """Each column's JSON keys: its canonical name, then its aliases."""
    return {c.name: [c.name, *c.aliases] for c in schema.columns}


def mapped_columns(
    schema: TableSchema, options: ReadOptions, base: Columns | None = None
) -> tuple[Columns, dict[str, str]]:
    """`base` (default: the canonical keys) with the source's mapped fields replacing their columns' keys, and the
    constants (column -> value), which replace theirs too."""
    cols = dict(base or default_columns(schema))
    for col, path in options.fields:
        cols[col] = [key_spec(parse_json_path(path))]
    constants = dict(options.constants)
    for col in constants:
        cols.pop(col, None)
    return cols, constants


def _keys(columns: Columns) -> tuple[list[str], dict[str, list[int]]]:
    """Every JSON key read in priority order, and each column's positions in that list."""
    keys: list[str] = []
    index: dict[str, list[int]] = {}
    for name, specs in columns.items():
        for k in specs:
            index.setdefault(name, []).append(len(keys))
            keys.append(k)
    return keys, index


def _coalesce(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"COALESCE({', '.join(parts)})"


def extra_sql(d: Dialect, text: str, keys: tuple[str, ...]) -> str:
    """The JSON object of the given top-level keys of a line that are present (string values): `unmapped: keep`."""
    if not keys:
        return "CAST(NULL AS STRING)"
    vals = [(k, f"{d.json_get_many(text, [k])}") for k in keys]
    if d.is_spark:
        inner = ", ".join(f"{d.str_lit(k)}, {d.list_get(v, 0)}" for k, v in vals)
        return f"NULLIF(to_json(named_struct({inner})), '{{}}')"
    inner = ", ".join(f"{d.str_lit(k)}, {d.list_get(v, 0)}" for k, v in vals)
    # json_merge_patch drops the keys whose value is null, as Spark's to_json does.
    return f"NULLIF(CAST(json_merge_patch('{{}}', json_object({inner})) AS VARCHAR), '{{}}')"


Derived = Callable[[Dialect, Callable[[str], str]], str]


def json_lines(
    name: str,
    table: str,
    description: str,
    columns: Columns | None = None,
    constants: dict[str, str] | None = None,
    extra_keys: tuple[str, ...] = (),
    derived: dict[str, tuple[tuple[str, ...], Derived]] | None = None,
) -> LineFormat:
    """A JSON Lines format for `table` reading `columns` (default: canonical keys and aliases).

    `derived` maps a column to (the key specs it needs, a function of the dialect and a key-spec -> SQL value lookup
    returning the column's SQL): how a built-in format computes a field no single key holds (a latency from a start
    and an end time). A derived column is used when the row has no value of its own for it.
    """
    schema = TABLES[table]
    cols = columns or default_columns(schema)
    consts = constants or {}
    derived = derived or {}
    keys, index = _keys(cols)
    for needs, _ in derived.values():
        keys += [k for k in needs if k not in keys]

    def prelude(d: Dialect) -> dict[str, str]:
        return {"j": f"CASE WHEN {d.json_is_object('text')} THEN {d.json_get_many('text', keys)} END"}

    def fields(d: Dialect) -> tuple[str, dict[str, str]]:
        error = "CASE WHEN j IS NULL THEN 'not a JSON object' END"
        out = {c: _coalesce([d.list_get("j", i) for i in idxs]) for c, idxs in index.items()}
        out.update({c: d.str_lit(v) for c, v in consts.items()})
        for c, (_, fn) in derived.items():
            sql = fn(d, lambda spec: d.list_get("j", keys.index(spec)))
            out[c] = f"COALESCE({out[c]}, {sql})" if c in out else sql
        if extra_keys and "extra" in schema.names():
            out["extra"] = f"CASE WHEN j IS NOT NULL THEN {extra_sql(d, 'text', extra_keys)} END"
        return error, out

    def file_stage(path: str, label: str, max_line_bytes: int, numbered: bool = True) -> str:
        return _duckdb_file_stage(schema, keys, index, path, label, max_line_bytes, consts, numbered)

    def binder(options: ReadOptions) -> LineFormat:
        bound, bound_consts = mapped_columns(schema, options, cols)
        return json_lines(
            name, table, description, bound, {**consts, **bound_consts}, tuple(options_extra(options)), derived
        )

    # DuckDB's JSON reader takes its columns as a struct, whose names are case-insensitive: keys that differ only
    # in case (`hostname`, `Hostname`) cannot both be read that way, so such a table keeps the chunked path; so does
    # a format that derives fields or keeps unmapped keys (rare, and simpler read from the line's text).
    tops = {k.partition("/")[0] for k in keys}
    one_pass = len({k.lower() for k in tops}) == len(tops) and not derived and not extra_keys
    return LineFormat(
        name=name,
        table=table,
        description=description,
        fields=fields,
        prelude=prelude,
        file_stage=file_stage if one_pass else None,
        binder=binder,
        json_columns=cols,
    )


def options_extra(options: ReadOptions) -> tuple[str, ...]:
    """The unmapped top-level keys a source keeps in `extra` (found when the file's head was read)."""
    return options.extra_keys if options.unmapped == "keep" else ()


def _duckdb_file_stage(
    schema: TableSchema,
    keys: list[str],
    index: dict[str, list[int]],
    path: str,
    label: str,
    max_line_bytes: int,
    constants: dict[str, str],
    numbered: bool = True,
) -> str:
    """The stage relation of a whole local JSONL file in one parallel DuckDB pass (see LineFormat.file_stage).

    DuckDB's JSON reader parses the objects (a NULL row for a line it cannot read) and its CSV reader, set to
    one column without quotes, yields the same lines as text; a positional scan pairs them and a streaming
    row_number numbers them. Lines the JSON reader returns nothing for are parsed again from their text with
    the scalar functions the chunked path uses, so both paths give the same fields. A line that may not pair
    up (blank, or whose values are not found in its text) is marked `skip`: the engine then reads the file
    the chunked way instead.

    `numbered=False` is the bulk read of a clean file: the JSON reader alone, without the line reader, the positional
    scan and the row numbers (which keep DuckDB to one thread). Its rows have no line number and no text: a line the
    reader found nothing in (a bad line, or one to read from its text) gets the placeholder parse error 'not a JSON
    object', so the engine reads every line that gets a reason again, with this stage numbered (DuckDBEngine._reread).
    """
    d = DUCKDB
    columns: dict[str, str] = {}
    reader: list[str] = []  # per key: its value from the JSON reader's row
    for k in keys:
        top, _, rest = k.partition("/")
        if rest:
            columns[top] = "JSON"
            reader.append(f"json_extract_string(p.{_ident(top)}, {d.str_lit(d.json_path(rest))})")
        else:
            columns.setdefault(top, "VARCHAR")
            reader.append(f"p.{_ident(top)}")
    spec = "{" + ", ".join(f"{d.str_lit(k)}: {d.str_lit(v)}" for k, v in columns.items()) + "}"
    json_reader = (
        f"read_json({d.str_lit(path)}, format = 'newline_delimited', ignore_errors = true, "
        f"compression = 'none', maximum_object_size = {max(2 * max_line_bytes, 16 << 20)}, columns = {spec})"
    )
    strings = [f"p.{_ident(k)}" for k, v in columns.items() if v == "VARCHAR"]
    objects = [f"p.{_ident(k)} IS NOT NULL" for k, v in columns.items() if v == "JSON"]
    found = " OR ".join([f"COALESCE({', '.join(strings)}) IS NOT NULL", *objects])
    alias_keys = {keys[i] for idxs in index.values() for i in idxs[1:] if "/" not in keys[i]}
    alias_strings = [f"p.{_ident(k)}" for k in columns if k in alias_keys]
    # Most logs use one spelling: when a line has no alias key, each field is its canonical key alone.
    aliased = " OR ".join(([f"COALESCE({', '.join(alias_strings)}) IS NOT NULL"] if alias_strings else []) + objects)
    # The reader's value that must appear in its line's text when the two readers are paired right.
    probe = ", ".join(f"p.{_ident(k)}" for k in (schema.unique_key, "timestamp") if k and columns.get(k) == "VARCHAR")
    utf8 = "(t0 IS NOT NULL)"  # the line reader raises on invalid UTF-8: a U+FFFD here was written as such
    # The reader spells a JSON number as DuckDB casts a double (1e+20, 1e-06) where the chunked path's
    # json_extract_string writes yyjson's spelling (100000000000000000000.0, 0.000001). They differ only where the
    # reader's has an exponent: such a line is read from its text instead, so both paths store the same strings.
    # (Reading every column as JSON and rendering it would do the same for every line at three times the cost.)
    # A value holding 'e+' or 'e-' sends its line to the text path (words such as "re-run" too: only a little slower).
    exponent = " OR ".join(f"contains({c}, 'e+') OR contains({c}, 'e-')" for c in strings) or "false"
    is_object = d.json_is_object("t0")
    if not numbered:
        # The bulk read: each column's value as the paired read below takes it from the reader, for lines it finds.
        taken = {}
        for name, idxs in index.items():
            taken[name] = f"k{idxs[0]}"
            if len(idxs) > 1:
                taken[name] = f"CASE WHEN aliased THEN {_coalesce([f'k{i}' for i in idxs])} ELSE k{idxs[0]} END"
        # Only the values taken are tested for an exponent (20 rather than every key read, 55): a value not taken
        # never reaches the row, and the text read gives the values taken the same strings as the reader. The reader
        # writes a number starting with a digit or '-', both before ':': other values (text) skip the search.
        exponent = (
            " OR ".join(f"CASE WHEN v_{n} < ':' THEN contains(v_{n}, 'e+') OR contains(v_{n}, 'e-') END" for n in taken)
            or "false"
        )
        values = (
            "SELECT found0, "
            + ", ".join(f"{v} AS v_{n}" for n, v in taken.items())
            + f" FROM (SELECT ({found}) AS found0, {aliased or 'false'} AS aliased, "
            + ", ".join(f"{e} AS k{i}" for i, e in enumerate(reader))
            + f" FROM {json_reader} p) k"
        )
        cols = []
        for c in schema.columns:
            if c.name in constants:
                cols.append(f"{d.str_lit(constants[c.name])} AS f_{c.name}")
            elif c.name in taken:
                cols.append(f"NULLIF(CASE WHEN found THEN v_{c.name} END, '') AS f_{c.name}")
            else:
                cols.append(f"CAST(NULL AS VARCHAR) AS f_{c.name}")
        return (
            f"SELECT {d.str_lit(label)} AS source_file, CAST(NULL AS BIGINT) AS line_no, CAST(NULL AS VARCHAR) AS skip, "
            f"CAST(NULL AS BIGINT) AS line_bytes, false AS last_no_newline, CAST(NULL AS VARCHAR) AS text, "
            f"CAST(NULL AS VARCHAR) AS bad_raw, CASE WHEN found THEN NULL ELSE 'not a JSON object' END AS parse_error, "
            f"{', '.join(cols)} FROM (SELECT *, found0 AND NOT COALESCE({exponent}, false) AS found FROM ({values}) v) s"
        )
    inner = (
        f"SELECT line_no, t0, {utf8} AS utf8, {utf8} AND ({found}) AND NOT COALESCE({exponent}, false) AS found, "
        f"{aliased or 'false'} AS aliased, "
        + ("COALESCE(" + probe + ", '')" if probe else "''")
        + " AS probe, "
        + ", ".join(f"{e} AS k{i}" for i, e in enumerate(reader))
        + f" FROM (SELECT row_number() OVER () AS line_no, l.text AS t0, r.* FROM {line_reader_sql(path, max_line_bytes)} l "
        f"POSITIONAL JOIN {json_reader} r) p"
    )
    # Lines the reader found nothing in: the chunked path's extraction over the text (rare: bad or foreign lines).
    again = f"CASE WHEN utf8 AND NOT found AND {is_object} THEN {d.json_get_many('t0', keys)} END"
    fields = []
    for c in schema.columns:
        if c.name in constants:
            fields.append(f"{d.str_lit(constants[c.name])} AS f_{c.name}")
            continue
        if c.name not in index:
            fields.append(f"CAST(NULL AS VARCHAR) AS f_{c.name}")
            continue
        idxs = index[c.name]
        fast = f"k{idxs[0]}"
        if len(idxs) > 1:
            fast = f"CASE WHEN aliased THEN {_coalesce([f'k{i}' for i in idxs])} ELSE {fast} END"
        slow = _coalesce([d.list_get("jt", i) for i in idxs])
        fields.append(f"NULLIF(CASE WHEN found THEN {fast} ELSE {slow} END, '') AS f_{c.name}")
    blank = f"trim(t0, {d.str_lit(_BLANK)}) = ''"
    # `skip` here only says "these readers did not pair this line: read the file the chunked way" (see LineFormat).
    return (
        f"SELECT {d.str_lit(label)} AS source_file, line_no, "
        f"CASE WHEN (CASE WHEN t0 IS NULL THEN true WHEN starts_with(t0, '{{') THEN false ELSE {blank} END "
        f"OR (found AND NOT contains(t0, probe))) THEN 'unpaired' END AS skip, "
        f"strlen(t0) AS line_bytes, false AS last_no_newline, CASE WHEN utf8 THEN t0 END AS text, "
        f"CAST(NULL AS VARCHAR) AS bad_raw, "
        f"CASE WHEN NOT utf8 THEN 'not valid UTF-8' WHEN found OR jt IS NOT NULL THEN NULL "
        f"ELSE 'not a JSON object' END AS parse_error, {', '.join(fields)} "
        f"FROM (SELECT *, {again} AS jt FROM ({inner}) q) s"
    )


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


JSONL = json_lines(
    "jsonl", "requests", "request log, one JSON object a line (canonical keys, OTel GenAI and OpenAI usage aliases)"
)
RESOURCES_JSONL = json_lines(
    "resources_jsonl", "resources", "resource samples, one JSON object a line (the collector's output)"
)
