"""JSON Lines: one object a line, canonical keys or their OpenTelemetry GenAI / gateway aliases."""

from __future__ import annotations

from monitor_pipeline.lib.engines.dialect import DUCKDB, Dialect
from monitor_pipeline.lib.formats.base import LineFormat, line_reader_sql
from monitor_pipeline.lib.schema import TABLES, TableSchema

# Whitespace DuckDB's JSON reader skips as an empty line; such a line makes the file take the chunked path.
_BLANK = " \t\r\n\x0b\x0c"


def _keys(schema: TableSchema) -> tuple[list[str], dict[str, list[int]]]:
    """Every JSON key read for `schema` in priority order, and each column's positions in that list."""
    keys: list[str] = []
    index: dict[str, list[int]] = {}
    for c in schema.columns:
        for k in (c.name, *c.aliases):
            index.setdefault(c.name, []).append(len(keys))
            keys.append(k)
    return keys, index


def _coalesce(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"COALESCE({', '.join(parts)})"


def _jsonl(table: str, description: str) -> LineFormat:
    schema = TABLES[table]
    keys, index = _keys(schema)

    def prelude(d: Dialect) -> dict[str, str]:
        return {"j": f"CASE WHEN {d.json_is_object('text')} THEN {d.json_get_many('text', keys)} END"}

    def fields(d: Dialect) -> tuple[str, dict[str, str]]:
        error = "CASE WHEN j IS NULL THEN 'not a JSON object' END"
        return error, {name: _coalesce([d.list_get("j", i) for i in idxs]) for name, idxs in index.items()}

    def file_stage(path: str, label: str, max_line_bytes: int) -> str:
        return _duckdb_file_stage(schema, keys, index, path, label, max_line_bytes)

    # DuckDB's JSON reader takes its columns as a struct, whose names are case-insensitive: keys that differ only
    # in case (`hostname`, `Hostname`) cannot both be read that way, so such a table keeps the chunked path.
    tops = {k.partition("/")[0] for k in keys}
    one_pass = len({k.lower() for k in tops}) == len(tops)
    return LineFormat(name=("jsonl" if table == "requests" else f"{table}_jsonl"), table=table,
                      description=description, fields=fields, prelude=prelude,
                      file_stage=file_stage if one_pass else None)


def _duckdb_file_stage(schema: TableSchema, keys: list[str], index: dict[str, list[int]], path: str, label: str,
                       max_line_bytes: int) -> str:
    """The stage relation of a whole local JSONL file in one parallel DuckDB pass (see LineFormat.file_stage).

    DuckDB's JSON reader parses the objects (a NULL row for a line it cannot read) and its CSV reader, set to
    one column without quotes, yields the same lines as text; a positional scan pairs them and a streaming
    row_number numbers them. Lines the JSON reader returns nothing for are parsed again from their text with
    the scalar functions the chunked path uses, so both paths give the same fields. A line that may not pair
    up (blank, or whose values are not found in its text) is marked `skip`: the engine then reads the file
    the chunked way instead.
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
    json_reader = (f"read_json({d.str_lit(path)}, format = 'newline_delimited', ignore_errors = true, "
                   f"compression = 'none', maximum_object_size = {max(2 * max_line_bytes, 16 << 20)}, columns = {spec})")
    strings = [f"p.{_ident(k)}" for k, v in columns.items() if v == "VARCHAR"]
    objects = [f"p.{_ident(k)} IS NOT NULL" for k, v in columns.items() if v == "JSON"]
    found = " OR ".join([f"COALESCE({', '.join(strings)}) IS NOT NULL", *objects])
    alias_keys = {keys[i] for idxs in index.values() for i in idxs[1:] if "/" not in keys[i]}
    alias_strings = [f"p.{_ident(k)}" for k in columns if k in alias_keys]
    # Most logs use one spelling: when a line has no alias key, each field is its canonical key alone.
    aliased = " OR ".join(([f"COALESCE({', '.join(alias_strings)}) IS NOT NULL"] if alias_strings else []) + objects)
    # The reader's value that must appear in its line's text when the two readers are paired right.
    probe = ", ".join(f"p.{_ident(k)}" for k in (schema.unique_key, "timestamp") if k and columns.get(k) == "VARCHAR")
    utf8 = "(t0 IS NOT NULL AND NOT contains(t0, '\ufffd'))"
    # The reader spells a JSON number as DuckDB casts a double (1e+20, 1e-06) where the chunked path's
    # json_extract_string writes yyjson's spelling (100000000000000000000.0, 0.000001). They differ only where the
    # reader's has an exponent: such a line is read from its text instead, so both paths store the same strings.
    # (Reading every column as JSON and rendering it would do the same for every line at three times the cost.)
    # A value holding 'e+' or 'e-' sends its line to the text path (words such as "re-run" too: only a little slower).
    exponent = " OR ".join(f"contains({c}, 'e+') OR contains({c}, 'e-')" for c in strings) or "false"
    is_object = d.json_is_object("t0")
    inner = (
        f"SELECT line_no, t0, {utf8} AS utf8, {utf8} AND ({found}) AND NOT COALESCE({exponent}, false) AS found, "
        f"{aliased or 'false'} AS aliased, "
        + ("COALESCE(" + probe + ", '')" if probe else "''") + " AS probe, "
        + ", ".join(f"{e} AS k{i}" for i, e in enumerate(reader))
        + f" FROM (SELECT row_number() OVER () AS line_no, l.text AS t0, r.* FROM {line_reader_sql(path, max_line_bytes)} l "
        f"POSITIONAL JOIN {json_reader} r) p"
    )
    # Lines the reader found nothing in: the chunked path's extraction over the text (rare: bad or foreign lines).
    again = (f"CASE WHEN utf8 AND NOT found AND {is_object} THEN {d.json_get_many('t0', keys)} END")
    fields = []
    for c in schema.columns:
        idxs = index[c.name]
        fast = f"k{idxs[0]}"
        if len(idxs) > 1:
            fast = f"CASE WHEN aliased THEN {_coalesce([f'k{i}' for i in idxs])} ELSE {fast} END"
        slow = _coalesce([d.list_get("jt", i) for i in idxs])
        fields.append(f"NULLIF(CASE WHEN found THEN {fast} ELSE {slow} END, '') AS f_{c.name}")
    blank = f"trim(t0, {d.str_lit(_BLANK)}) = ''"
    return (
        f"SELECT {d.str_lit(label)} AS source_file, line_no, "
        f"(CASE WHEN t0 IS NULL THEN true WHEN starts_with(t0, '{{') THEN false ELSE {blank} END "
        f"OR (found AND NOT contains(t0, probe))) AS skip, "
        f"strlen(t0) AS line_bytes, false AS last_no_newline, CASE WHEN utf8 THEN t0 END AS text, "
        f"CASE WHEN NOT utf8 THEN 'not valid UTF-8' WHEN found OR jt IS NOT NULL THEN NULL "
        f"ELSE 'not a JSON object' END AS parse_error, {', '.join(fields)} "
        f"FROM (SELECT *, {again} AS jt FROM ({inner}) q) s"
    )


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


JSONL = _jsonl("requests", "request log, one JSON object a line (canonical keys, OTel GenAI and OpenAI usage aliases)")
RESOURCES_JSONL = _jsonl("resources", "resource samples, one JSON object a line (the collector's output)")
