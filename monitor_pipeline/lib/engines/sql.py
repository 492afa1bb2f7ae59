"""The ingestion transforms as SQL text, written once and rendered for DuckDB or Spark by a Dialect.

Pipeline over a *stage* relation that a format produces from raw lines:
  stage(source_file, line_no, line_bytes, last_no_newline, text, parse_error, f_<column>...)
    -> typed_sql: typed columns + the first failing check (reason, field, detail) + anchor_day
    -> final_sql: duplicates of the unique key, and the partition day of every line
    -> windows_sql: 5-minute / 1-hour aggregates of the clean rows
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor_pipeline.lib.engines.dialect import Dialect
from monitor_pipeline.lib.schema import STATUS_ERROR, STATUS_OK, Column, TableSchema

MIN_TIMESTAMP = "2000-01-01T00:00:00+00:00"


@dataclass(frozen=True)
class TypingOptions:
    """Knobs of the typing step (from the `ingest` config section)."""

    now_iso: str
    max_line_bytes: int = 1_000_000
    raw_cap: int = 2048
    max_future_skew_s: int = 300
    defaults: dict[str, str] = field(default_factory=dict)


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


def _ts_expr(d: Dialect, col: Column) -> str:
    """Numbers are epoch seconds, milliseconds or microseconds by magnitude; strings are ISO 8601."""
    n = _num(col)
    us = (
        f"TRY_CAST(CASE WHEN abs({n}) >= 1e14 THEN {n} WHEN abs({n}) >= 1e11 THEN {n} * 1000 "
        f"ELSE {n} * 1000000 END AS BIGINT)"
    )
    return (
        f"CASE WHEN {n} IS NOT NULL THEN CASE WHEN {d.isfinite(n)} AND abs({n}) < 1e17 "
        f"THEN {d.epoch_us_to_ts(us)} END ELSE {d.parse_ts('f_' + col.name)} END"
    )


def typed_sql(d: Dialect, schema: TableSchema, stage: str, opts: TypingOptions) -> str:
    """SQL that types a stage relation and names, for every line, the first check it fails."""
    numeric = [c for c in schema.columns if c.type in ("int", "double", "timestamp")]
    level1 = ", ".join(
        ["s.*"] + [f"TRY_CAST(trim(f_{c.name}) AS DOUBLE) AS {_num(c)}" for c in numeric]
    )
    values: list[str] = []
    bad_type: list[tuple[str, Column, str]] = []
    out_of_range: list[tuple[str, Column, str]] = []
    for c in schema.columns:
        f, n = f"f_{c.name}", _num(c)
        if c.type == "timestamp":
            values.append(f"{_ts_expr(d, c)} AS {c.name}")
        elif c.type == "int":
            ok = f"({n} IS NOT NULL AND {d.isfinite(n)} AND {n} = floor({n}) AND abs({n}) < 9e15)"
            values.append(f"CASE WHEN {ok} THEN TRY_CAST({n} AS BIGINT) END AS {c.name}")
            bad_type.append((f"{f} IS NOT NULL AND NOT {ok}", c, "is not an integer"))
        elif c.type == "double":
            ok = f"({n} IS NOT NULL AND {d.isfinite(n)})"
            values.append(f"CASE WHEN {ok} THEN {n} END AS {c.name}")
            bad_type.append((f"{f} IS NOT NULL AND NOT {ok}", c, "is not a finite number"))
        elif schema.name == "requests" and c.name == "status":
            values.append(f"{_status_expr(d)} AS status")
        elif c.name in opts.defaults:
            values.append(f"COALESCE({f}, {d.str_lit(opts.defaults[c.name])}) AS {c.name}")
        elif schema.unique_key == c.name:
            synth = f"regexp_extract(source_file, '[^/]+$', 0) || ':' || CAST(line_no AS STRING)"
            values.append(f"COALESCE({f}, {synth}) AS {c.name}")
        else:
            values.append(f"{f} AS {c.name}")
        if c.type in ("int", "double"):
            if c.min is not None:
                out_of_range.append((f"{n} < {c.min}", c, f"is below {c.min:g}"))
            if c.max is not None:
                out_of_range.append((f"{n} > {c.max}", c, f"is above {c.max:g}"))
    if schema.name == "requests":
        out_of_range.append((
            f"f_status IS NOT NULL AND ({_status_expr(d)}) IS NULL",
            schema.column("status"),
            "is not a known status (ok/error and their usual spellings)",
        ))

    ts = schema.column("timestamp")
    tsn = f"({_ts_expr(d, ts)})"
    lo = d.ts_literal(MIN_TIMESTAMP)
    future = f"{d.ts_literal(opts.now_iso)} + INTERVAL '{int(opts.max_future_skew_s)}' SECOND"
    checks: list[tuple[str, str, str, str]] = [  # (condition, reason, field, detail)
        (f"line_bytes > {int(opts.max_line_bytes)}", "line_too_long", "NULL",
         f"'line of ' || CAST(line_bytes AS STRING) || ' bytes exceeds {int(opts.max_line_bytes)}'"),
        ("parse_error IS NOT NULL AND last_no_newline", "truncated", "NULL", "parse_error"),
        ("parse_error IS NOT NULL", "malformed", "NULL", "parse_error"),
    ]
    for c in schema.columns:
        if c.required:
            checks.append((f"f_{c.name} IS NULL", "missing_field", d.str_lit(c.name),
                           d.str_lit(f"{c.name} is required")))
    for cond, c, msg in bad_type:
        checks.append((cond, "bad_type", d.str_lit(c.name),
                       f"{d.str_lit(c.name + ': ')} || substr(f_{c.name}, 1, 80) || {d.str_lit(' ' + msg)}"))
    checks.append((f"{tsn} IS NULL OR {tsn} < {lo}", "bad_timestamp", "'timestamp'",
                   "'timestamp: ' || substr(f_timestamp, 1, 80) || ' is not a timestamp after 2000-01-01'"))
    checks.append((f"{tsn} > {future}", "future_timestamp", "'timestamp'",
                   f"'timestamp: ' || substr(f_timestamp, 1, 80) || ' is later than ingest time {opts.now_iso}'"))
    for cond, c, msg in out_of_range:
        checks.append((cond, "out_of_range", d.str_lit(c.name),
                       f"{d.str_lit(c.name + ': ')} || substr(f_{c.name}, 1, 80) || {d.str_lit(' ' + msg)}"))

    def case(i: int) -> str:
        return "CASE " + " ".join(f"WHEN {ch[0]} THEN {ch[i]}" for ch in checks) + " END"

    reason_cases = "CASE " + " ".join(f"WHEN {ch[0]} THEN '{ch[1]}'" for ch in checks) + " END"
    raw = (
        f"CASE WHEN text IS NULL THEN '<not valid UTF-8>' "
        f"ELSE substr(text, 1, {int(opts.raw_cap)}) END"
    )
    anchor = f"CASE WHEN {tsn} >= {lo} AND {tsn} <= {future} THEN CAST({tsn} AS DATE) END"
    return (
        f"SELECT source_file, line_no, {', '.join(values)}, {reason_cases} AS reason, "
        f"{case(2)} AS field, {case(3)} AS detail, {raw} AS raw, {anchor} AS anchor_day "
        f"FROM (SELECT {level1} FROM ({stage}) s) s1"
    )


def final_sql(d: Dialect, schema: TableSchema, typed: str, fallback_day: str) -> str:
    """SQL that marks later copies of the unique key as duplicates and gives each line its day."""
    cols = ", ".join(schema.names())
    order = "ORDER BY source_file, line_no"
    if schema.unique_key:
        k = schema.unique_key
        rank = (f"CASE WHEN reason IS NULL THEN ROW_NUMBER() OVER (PARTITION BY reason IS NULL, {k} {order}) END")
        first = (f"CASE WHEN reason IS NULL THEN FIRST_VALUE(source_file || ':' || CAST(line_no AS STRING)) "
                 f"OVER (PARTITION BY reason IS NULL, {k} {order}) END")
    else:
        rank, first = "1", "NULL"
    prev = (f"{d.last_nonnull('anchor_day')} OVER (PARTITION BY source_file {order} "
            f"ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)")
    nxt = (f"{d.first_nonnull('anchor_day')} OVER (PARTITION BY source_file {order} "
           f"ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING)")
    return (
        f"SELECT source_file, line_no, {cols}, "
        f"CASE WHEN rk > 1 THEN 'duplicate' ELSE reason END AS reason, "
        f"CASE WHEN rk > 1 THEN {d.str_lit(schema.unique_key or '')} ELSE field END AS field, "
        f"CASE WHEN rk > 1 THEN {d.str_lit((schema.unique_key or '') + ' already seen at ')} || first_seen "
        f"ELSE detail END AS detail, raw, "
        f"COALESCE(anchor_day, prev_day, next_day, CAST({d.str_lit(fallback_day)} AS DATE)) AS partition_date "
        f"FROM (SELECT *, {rank} AS rk, {first} AS first_seen, {prev} AS prev_day, {nxt} AS next_day "
        f"FROM ({typed}) t) f"
    )


WINDOWS = {"5m": 300, "1h": 3600}


def request_windows_sql(d: Dialect, requests: str, online: str | None = None) -> str:
    """Per window and model: volume, errors, latency and TTFT percentiles, tokens, accuracy, users."""
    parts = []
    for name, sec in WINDOWS.items():
        b = d.bucket("timestamp", sec)
        parts.append(
            f"SELECT '{name}' AS window_size, {b} AS window_start, model, COUNT(*) AS requests, "
            f"AVG(CASE WHEN status = 'error' THEN 1.0 ELSE 0.0 END) AS error_rate, "
            f"{d.quantile('latency_ms', 0.5)} AS latency_p50_ms, {d.quantile('latency_ms', 0.95)} AS latency_p95_ms, "
            f"{d.quantile('latency_ms', 0.99)} AS latency_p99_ms, {d.quantile('ttft_ms', 0.95)} AS ttft_p95_ms, "
            f"SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens, "
            f"SUM(output_tokens) / {float(sec)} AS output_tokens_per_s, "
            f"AVG(COALESCE(accuracy, CASE WHEN prediction IS NOT NULL AND label IS NOT NULL THEN "
            f"CASE WHEN prediction = label THEN 1.0 ELSE 0.0 END END)) AS accuracy, "
            f"COUNT(DISTINCT user_id) AS unique_users, partition_date "
            f"FROM {requests} GROUP BY {b}, model, partition_date"
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


RESOURCE_METRICS = ("gpu_util_pct", "gpu_mem_used_mb", "gpu_mem_total_mb", "cpu_util_pct", "mem_used_mb",
                    "mem_total_mb", "temperature_c", "power_w")


def resource_windows_sql(d: Dialect, resources: str) -> str:
    """Per window, host and device: sample count and mean/max of every resource metric."""
    parts = []
    for name, sec in WINDOWS.items():
        b = d.bucket("timestamp", sec)
        aggs = ", ".join(f"AVG({m}) AS {m}_mean, MAX({m}) AS {m}_max" for m in RESOURCE_METRICS)
        parts.append(
            f"SELECT '{name}' AS window_size, {b} AS window_start, COALESCE(host, '') AS host, "
            f"COALESCE(device, '') AS device, COUNT(*) AS samples, {aggs}, partition_date "
            f"FROM {resources} GROUP BY {b}, COALESCE(host, ''), COALESCE(device, ''), partition_date"
        )
    return " UNION ALL ".join(parts)
