"""The ingestion transforms as SQL text, written once and rendered for DuckDB or Spark by a Dialect.

Pipeline over a *stage* relation that a format produces from raw lines:
  stage(source_file, line_no, skip, line_bytes, last_no_newline, text, parse_error, f_<column>...)
    -> typed_sql: typed columns + the first failing check (reason, field, detail) + anchor_day
    -> fixes_sql: the few rows a batch-wide pass changes (duplicates, lines without a day)
    -> final_sql: typed rows with the fixes applied (DuckDB updates its typed table in place instead)
    -> windows_sql: 5-minute / 1-hour aggregates of the clean rows
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor_pipeline.ingest.engines.dialect import Dialect
from monitor_pipeline.ingest.formats.options import TimeSpec
from monitor_pipeline.warehouse.schema import STATUS_ERROR, STATUS_OK, Column, TableSchema

MIN_TIMESTAMP = "2000-01-01T00:00:00+00:00"


@dataclass(frozen=True)
class TypingOptions:
    """Knobs of the typing step (from the `ingest` config section)."""

    now_iso: str
    max_line_bytes: int = 1_000_000
    raw_cap: int = 2048
    max_future_skew_s: int = 300
    defaults: dict[str, str] = field(default_factory=dict)
    time: TimeSpec = field(default_factory=TimeSpec)


def _num(col: Column) -> str:
    return f"d_{col.name}"


def _in_list(values: tuple[str, ...], d: Dialect) -> str:
    return "(" + ", ".join(d.str_lit(v) for v in values) + ")"


def _status_expr(d: Dialect) -> str:
    s = "lower(trim(f_status))"
    return (
        f"CASE WHEN f_status IS NULL THEN CASE WHEN d_http_status >= 400 OR f_error_type IS NOT NULL "
        f"THEN 'error' ELSE 'ok' END "
        f"WHEN {s} IN {_in_list(STATUS_OK, d)} THEN 'ok' "
        f"WHEN {s} IN {_in_list(STATUS_ERROR, d)} THEN 'error' "
        f"WHEN TRY_CAST({s} AS DOUBLE) IS NOT NULL THEN CASE WHEN TRY_CAST({s} AS DOUBLE) >= 400 THEN 'error' ELSE 'ok' END "
        f"END"
    )


# A string that ends with a time and an offset (Z, +02:00, -0500, UTC): a string without one is a naive time.
_HAS_ZONE = r":[0-9]{2}(\.[0-9]+)?\s*([zZ]|[+-][0-9]{2}(:?[0-9]{2})?|UTC|GMT)\s*$"


def _ts_expr(d: Dialect, col: Column, spec: TimeSpec) -> tuple[str, str]:
    """(the UTC timestamp of a time field, whether it was a naive time taken as UTC) under the source's TimeSpec.

    By default numbers are epoch seconds, milliseconds or microseconds by magnitude and strings are ISO 8601; a
    naive string is read in `spec.timezone`, or as UTC (flagged, so the ingest can say so). An epoch format fixes
    the unit; with an origin, numbers count from it (relative clocks).
    """
    f, n = f"f_{col.name}", _num(col)
    if spec.epoch_us is not None or spec.origin:
        unit = spec.epoch_us or 1_000_000
        us = f"TRY_CAST({n} * {unit!r} AS BIGINT)"
        if spec.origin:
            us = f"({d.ts_to_epoch_us(d.ts_literal(spec.origin))} + {us})"
        value = f"CASE WHEN {d.isfinite(n)} AND abs({n}) < 1e17 THEN {d.epoch_us_to_ts(us)} END"
        return value, "false"
    if spec.strptime:
        parsed = d.strptime(f, spec.strptime)
        if "%z" in spec.strptime or "%Z" in spec.strptime:
            return parsed, "false"
        if spec.timezone:
            return d.local_to_utc(parsed, spec.timezone), "false"
        return (f"CAST({parsed} AS {d.ts_type()})" if not d.is_spark else parsed), f"{f} IS NOT NULL"
    # Most logs write `…Z`: that cheap test settles the row before the regular expression is tried (CASE evaluates
    # a branch only for the rows that reach it).
    naive = (
        f"(CASE WHEN {n} IS NOT NULL OR {f} IS NULL OR {f} LIKE '%Z' THEN false "
        f"ELSE NOT {d.regex_search(f, _HAS_ZONE)} END)"
    )
    text = d.parse_ts(f)
    if spec.timezone:
        text = f"CASE WHEN {naive} THEN {d.local_to_utc(d.parse_naive_ts(f), spec.timezone)} ELSE {text} END"
    if spec.format == "iso":
        return f"CASE WHEN {n} IS NULL THEN {text} END", "false" if spec.timezone else naive
    us = (
        f"TRY_CAST(CASE WHEN abs({n}) >= 1e14 THEN {n} WHEN abs({n}) >= 1e11 THEN {n} * 1000 "
        f"ELSE {n} * 1000000 END AS BIGINT)"
    )
    value = (
        f"CASE WHEN {n} IS NOT NULL THEN CASE WHEN {d.isfinite(n)} AND abs({n}) < 1e17 "
        f"THEN {d.epoch_us_to_ts(us)} END ELSE {text} END"
    )
    return value, "false" if spec.timezone else naive


def typed_sql(d: Dialect, schema: TableSchema, stage: str, opts: TypingOptions) -> str:
    """SQL that types a stage relation and names, for every line, the first check it fails.

    Three levels so each cast is computed once: numbers parsed (d_*), values typed (v_*), then checks.
    """
    numeric = [c for c in schema.columns if c.type in ("int", "double", "timestamp")]
    # A timestamp holding ':' is never a number: skip the failing cast that every ISO string would cost.
    level1 = ", ".join(
        ["s.*"]
        + [
            (
                f"CASE WHEN instr(f_{c.name}, ':') = 0 THEN {d.to_double('f_' + c.name)} END"
                if c.type == "timestamp"
                else d.to_double(f"f_{c.name}")
            )
            + f" AS {_num(c)}"
            for c in numeric
        ]
    )
    values: list[str] = []
    bad_type: list[tuple[str, Column, str]] = []
    out_of_range: list[tuple[str, Column, str]] = []
    naive = "false"
    for c in schema.columns:
        f, n = f"f_{c.name}", _num(c)
        if c.type == "timestamp":
            ts, naive = _ts_expr(d, c, opts.time)
            values.append(f"{ts} AS v_{c.name}")
        elif c.type == "int":
            ok = f"({n} IS NOT NULL AND {d.isfinite(n)} AND {n} = floor({n}) AND abs({n}) < 9e15)"
            values.append(f"CASE WHEN {ok} THEN TRY_CAST({n} AS BIGINT) END AS v_{c.name}")
            bad_type.append((f"{f} IS NOT NULL AND v_{c.name} IS NULL", c, "is not an integer"))
        elif c.type == "double":
            ok = f"({n} IS NOT NULL AND {d.isfinite(n)})"
            values.append(f"CASE WHEN {ok} THEN {n} END AS v_{c.name}")
            bad_type.append((f"{f} IS NOT NULL AND v_{c.name} IS NULL", c, "is not a finite number"))
        elif schema.name == "requests" and c.name == "status":
            values.append(f"{_status_expr(d)} AS v_status")
        elif c.name in opts.defaults:
            values.append(f"COALESCE({f}, {d.str_lit(opts.defaults[c.name])}) AS v_{c.name}")
        elif schema.unique_key == c.name:
            synth = "regexp_extract(source_file, '[^/]+$', 0) || ':' || CAST(line_no AS STRING)"
            values.append(f"COALESCE({f}, {synth}) AS v_{c.name}")
        else:
            values.append(f"{f} AS v_{c.name}")
        if c.type in ("int", "double"):
            if c.min is not None:
                out_of_range.append((f"v_{c.name} < {c.min}", c, f"is below {c.min:g}"))
            if c.max is not None:
                out_of_range.append((f"v_{c.name} > {c.max}", c, f"is above {c.max:g}"))
    if schema.name == "requests":
        out_of_range.append(
            (
                "f_status IS NOT NULL AND v_status IS NULL",
                schema.column("status"),
                "is not a known status (ok/error and their usual spellings)",
            )
        )

    lo = d.ts_literal(MIN_TIMESTAMP)
    future = f"{d.ts_literal(opts.now_iso)} + INTERVAL '{int(opts.max_future_skew_s)}' SECOND"
    relative = (
        ""
        if opts.time.origin
        else (
            " || CASE WHEN abs(d_timestamp) < 1e9 THEN ' (a relative clock? set time.origin on the source)' ELSE '' END"
        )
    )
    checks: list[tuple[str, str, str, str]] = [  # (condition, reason, field, detail)
        ("skip IS NOT NULL", "", "NULL", "NULL"),  # not a record: no reason (kept in skipped_lines)
        (
            f"line_bytes > {int(opts.max_line_bytes)}",
            "line_too_long",
            "NULL",
            f"'line of ' || CAST(line_bytes AS STRING) || ' bytes exceeds {int(opts.max_line_bytes)}'",
        ),
        ("parse_error IS NOT NULL AND last_no_newline", "truncated", "NULL", "parse_error"),
        ("parse_error IS NOT NULL", "malformed", "NULL", "parse_error"),
    ]
    for c in schema.columns:
        if c.required:
            checks.append(
                (f"f_{c.name} IS NULL", "missing_field", d.str_lit(c.name), d.str_lit(f"{c.name} is required"))
            )
    for cond, c, msg in bad_type:
        checks.append(
            (
                cond,
                "bad_type",
                d.str_lit(c.name),
                f"{d.str_lit(c.name + ': ')} || substr(f_{c.name}, 1, 80) || {d.str_lit(' ' + msg)}",
            )
        )
    checks.append(
        (
            "v_timestamp IS NULL OR v_timestamp < " + lo,
            "bad_timestamp",
            "'timestamp'",
            "'timestamp: ' || substr(f_timestamp, 1, 80) || ' is not a timestamp after 2000-01-01'"
            + (relative if any(c.name == "timestamp" and c.type == "timestamp" for c in schema.columns) else ""),
        )
    )
    checks.append(
        (
            f"v_timestamp > {future}",
            "future_timestamp",
            "'timestamp'",
            f"'timestamp: ' || substr(f_timestamp, 1, 80) || ' is later than ingest time {opts.now_iso}'",
        )
    )
    for cond, c, msg in out_of_range:
        checks.append(
            (
                cond,
                "out_of_range",
                d.str_lit(c.name),
                f"{d.str_lit(c.name + ': ')} || substr(f_{c.name}, 1, 80) || {d.str_lit(' ' + msg)}",
            )
        )

    def case(i: int) -> str:
        return "CASE " + " ".join(f"WHEN {ch[0]} THEN {ch[i]}" for ch in checks) + " END"

    reason = "CASE " + " ".join(f"WHEN {ch[0]} THEN " + (f"'{ch[1]}'" if ch[1] else "NULL") for ch in checks) + " END"
    # The raw line is kept only for lines already known to be bad (and skipped ones); a duplicate, found later, gets
    # its typed values as JSON instead (fixes_sql), so clean rows never carry a second copy of their text.
    cap = int(opts.raw_cap)
    raw = (
        f"CASE WHEN reason IS NULL AND skip IS NULL THEN NULL "
        f"WHEN text IS NULL THEN COALESCE(substr(bad_raw, 1, {cap}), '<not valid UTF-8>') "
        f"ELSE substr(text, 1, {cap}) END"
    )
    anchor = f"CASE WHEN v_timestamp >= {lo} AND v_timestamp <= {future} THEN CAST(v_timestamp AS DATE) END"
    cols = ", ".join(f"v_{c.name} AS {c.name}" for c in schema.columns)
    names = ", ".join(schema.names())
    # The reason is found once; field and detail are worked out only for the (few) lines that have one.
    return (
        f"SELECT source_file, line_no, skip, {names}, reason, field, detail, {raw} AS raw, anchor_day, "
        f"anchor_day AS partition_date, ts_naive FROM ("
        f"SELECT source_file, line_no, skip, text, bad_raw, {cols}, reason, "
        f"CASE WHEN reason IS NOT NULL THEN {case(2)} END AS field, "
        f"CASE WHEN reason IS NOT NULL THEN {case(3)} END AS detail, {anchor} AS anchor_day, "
        f"CASE WHEN reason IS NULL THEN {naive} ELSE false END AS ts_naive FROM ("
        f"SELECT s2.*, {reason} AS reason "
        f"FROM (SELECT s1.*, {', '.join(values)} FROM (SELECT {level1} FROM ({stage}) s) s1) s2) s2r) s3"
    )


def fixes_sql(d: Dialect, schema: TableSchema, typed: str, fallback_day: str, fill_gaps: bool) -> str:
    """The few rows the batch-wide pass changes: later copies of the unique key, and lines without a day.

    A duplicate keeps the first occurrence in (file, line) order. A line without a usable timestamp
    belongs to the day of the nearest earlier good line of its file, else the nearest later one,
    else `fallback_day`. Output: (source_file, line_no, reason, field, detail, partition_date);
    NULL reason / partition_date / raw mean "unchanged".
    """
    parts = []
    if schema.unique_key:
        k = schema.unique_key
        # Count keys first (no per-row work), then order only the rows of keys seen more than once.
        order = f"PARTITION BY t.{k} ORDER BY t.source_file, t.line_no"
        parts.append(
            f"SELECT source_file, line_no, 'duplicate' AS reason, {d.str_lit(k)} AS field, "
            f"{d.str_lit(k + ' already seen at ')} || first_file || ':' || CAST(first_line AS STRING) AS detail, "
            f"CAST(NULL AS DATE) AS partition_date, raw FROM ("
            f"SELECT t.source_file, t.line_no, first_value(t.source_file) OVER ({order}) AS first_file, "
            f"first_value(t.line_no) OVER ({order}) AS first_line, row_number() OVER ({order}) AS nth, "
            f"{d.row_json([f't.{c}' for c in schema.names()], schema.names())} AS raw "
            f"FROM {typed} t JOIN (SELECT {k} AS dup_key FROM {typed} WHERE reason IS NULL AND skip IS NULL "
            f"GROUP BY {k} HAVING count(*) > 1) g ON t.{k} = g.dup_key WHERE t.reason IS NULL AND t.skip IS NULL) x "
            f"WHERE nth > 1"
        )
    if fill_gaps:
        order = "PARTITION BY source_file ORDER BY line_no"
        prev = f"{d.last_nonnull('anchor_day')} OVER ({order} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
        nxt = f"{d.first_nonnull('anchor_day')} OVER ({order} ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING)"
        parts.append(
            f"SELECT source_file, line_no, CAST(NULL AS STRING) AS reason, CAST(NULL AS STRING) AS field, "
            f"CAST(NULL AS STRING) AS detail, COALESCE(prev_day, next_day, CAST({d.str_lit(fallback_day)} AS DATE)) "
            f"AS partition_date, CAST(NULL AS STRING) AS raw FROM (SELECT source_file, line_no, anchor_day, "
            f"{prev} AS prev_day, {nxt} AS next_day "
            f"FROM (SELECT source_file, line_no, anchor_day FROM {typed}) n) w WHERE anchor_day IS NULL"
        )
    if not parts:
        return (
            "SELECT CAST(NULL AS STRING) AS source_file, CAST(NULL AS BIGINT) AS line_no, "
            "CAST(NULL AS STRING) AS reason, CAST(NULL AS STRING) AS field, CAST(NULL AS STRING) AS detail, "
            "CAST(NULL AS DATE) AS partition_date, CAST(NULL AS STRING) AS raw WHERE 1 = 0"
        )
    return " UNION ALL ".join(parts)


def final_sql(d: Dialect, schema: TableSchema, typed: str, fixes: str) -> str:
    """The typed rows with the fixes applied (for engines that cannot update in place, e.g. Spark); skipped lines too."""
    cols = ", ".join(f"t.{c}" for c in schema.names())
    return (
        f"SELECT t.source_file, t.line_no, t.skip, t.ts_naive, {cols}, COALESCE(x.reason, t.reason) AS reason, "
        f"CASE WHEN x.reason IS NOT NULL THEN x.field ELSE t.field END AS field, "
        f"CASE WHEN x.reason IS NOT NULL THEN x.detail ELSE t.detail END AS detail, COALESCE(x.raw, t.raw) AS raw, "
        f"COALESCE(x.partition_date, t.partition_date) AS partition_date "
        f"FROM {typed} t LEFT JOIN {fixes} x ON t.source_file = x.source_file AND t.line_no = x.line_no"
    )


WINDOWS = {"5m": 300, "1h": 3600}
# DOUBLE constants: a bare 1.0 is a DECIMAL in Spark, whose averages round to a few digits.
ONE, ZERO = "CAST(1 AS DOUBLE)", "CAST(0 AS DOUBLE)"


def request_windows_sql(d: Dialect, requests: str, online: str | None = None) -> str:
    """Per window and model: volume, errors, latency and TTFT percentiles, tokens, accuracy, users."""
    parts = []
    for name, sec in WINDOWS.items():
        b = d.bucket("timestamp", sec)
        lat = [d.list_get("lat_q", i) for i in range(3)]
        parts.append(
            f"SELECT window_size, window_start, model, requests, error_rate, {lat[0]} AS latency_p50_ms, "
            f"{lat[1]} AS latency_p95_ms, {lat[2]} AS latency_p99_ms, ttft_p95_ms, input_tokens, output_tokens, "
            f"output_tokens_per_s, accuracy, unique_users, partition_date FROM ("
            f"SELECT '{name}' AS window_size, {b} AS window_start, model, COUNT(*) AS requests, "
            f"AVG(CASE WHEN status = 'error' THEN {ONE} ELSE {ZERO} END) AS error_rate, "
            f"{d.quantiles('latency_ms', (0.5, 0.95, 0.99))} AS lat_q, {d.quantile('ttft_ms', 0.95)} AS ttft_p95_ms, "
            f"SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens, "
            f"CAST(SUM(output_tokens) AS DOUBLE) / {sec} AS output_tokens_per_s, "
            f"AVG(COALESCE(accuracy, CASE WHEN prediction IS NOT NULL AND label IS NOT NULL THEN "
            f"CASE WHEN prediction = label THEN {ONE} ELSE {ZERO} END END)) AS accuracy, "
            f"COUNT(DISTINCT user_id) AS unique_users, partition_date "
            f"FROM {requests} GROUP BY {b}, model, partition_date) q_{name}"
        )
        if online:
            # The seed's online.log carries pre-aggregated samples: weight accuracy by request_num;
            # it names no model, so its source name stands in for one.
            parts.append(
                f"SELECT '{name}' AS window_size, {b} AS window_start, source AS model, SUM(request_num) AS requests, "
                f"CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE), "
                f"CAST(NULL AS DOUBLE), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS DOUBLE), "
                f"SUM(accuracy * request_num) / NULLIF(SUM(request_num), 0), CAST(NULL AS BIGINT), partition_date "
                f"FROM {online} GROUP BY {b}, source, partition_date"
            )
    return " UNION ALL ".join(parts)


WORKLOAD = ("pod", "namespace", "container")  # kept per window (the last one seen) so a GPU's user is known
RESOURCE_METRICS = (
    "gpu_util_pct",
    "gpu_mem_used_mb",
    "gpu_mem_total_mb",
    "cpu_util_pct",
    "mem_used_mb",
    "mem_total_mb",
    "temperature_c",
    "power_w",
)


def resource_rows_sql(d: Dialect, resources: str, gauges: str) -> str:
    """Resource samples plus DCGM exporter gauges pivoted into the same columns."""
    from monitor_pipeline.ingest.formats.prometheus import gauges_to_resources_sql

    cols = ", ".join(("timestamp", "host", "device") + RESOURCE_METRICS + WORKLOAD + ("partition_date",))
    return f"SELECT {cols} FROM {resources} r UNION ALL {gauges_to_resources_sql(d, gauges)}"


def resource_windows_sql(d: Dialect, resources: str) -> str:
    """Per window, host and device: sample count and mean/max of every resource metric."""
    parts = []
    for name, sec in WINDOWS.items():
        b = d.bucket("timestamp", sec)
        aggs = ", ".join(f"AVG({m}) AS {m}_mean, MAX({m}) AS {m}_max" for m in RESOURCE_METRICS)
        workload = ", ".join(f"MAX({w}) AS {w}" for w in WORKLOAD)
        parts.append(
            f"SELECT '{name}' AS window_size, {b} AS window_start, COALESCE(host, '') AS host, "
            f"COALESCE(device, '') AS device, COUNT(*) AS samples, {aggs}, {workload}, partition_date "
            f"FROM {resources} GROUP BY {b}, COALESCE(host, ''), COALESCE(device, ''), partition_date"
        )
    return " UNION ALL ".join(parts)
