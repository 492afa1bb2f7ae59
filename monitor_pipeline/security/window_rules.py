"""Window rules as set operations in SQL, written once and rendered for DuckDB or Spark by a Dialect.

Every query reads a relation of requests (and, for bursts, a history relation) and returns the finding columns
FINDING_COLUMNS: one row per scope value (rates, bursts, overload, scanning, lists) or per request (oversized inputs).
Requests whose scope column is NULL (a missing user id) are left out of that rule and counted by the engine.
"""

from __future__ import annotations

import ipaddress

from monitor_pipeline.ingest.engines.dialect import Dialect
from monitor_pipeline.security.config import SCOPE_COLUMNS

FINDING_COLUMNS = (
    "rule",
    "kind",
    "scope",
    "severity",
    "scope_value",
    "window_start",
    "window_end",
    "value",
    "threshold",
    "count",
    "request_id",
    "evidence",
)


def epoch_ms(d: Dialect, e: str) -> str:
    """Milliseconds since the epoch of a timestamp, as BIGINT."""
    return f"unix_millis({e})" if d.is_spark else f"epoch_ms({e})"


def ms_to_ts(d: Dialect, e: str) -> str:
    """A timestamp from milliseconds since the epoch."""
    return d.epoch_us_to_ts(f"CAST({e} AS BIGINT) * 1000")


def regex_matches(d: Dialect, e: str, pattern: str) -> str:
    """True where `pattern` matches somewhere in `e` (RE2 on DuckDB, Java regex on Spark)."""
    return f"({e} RLIKE {d.str_lit(pattern)})" if d.is_spark else f"regexp_matches({e}, {d.str_lit(pattern)})"


def _head(d: Dialect, rule) -> str:
    return ", ".join(
        f"{d.str_lit(v)} AS {k}"
        for k, v in (("rule", rule.id), ("kind", rule.kind), ("scope", rule.scope), ("severity", rule.severity))
    )


def _txt(e: str) -> str:
    return f"CAST({e} AS STRING)"


def _scoped(d: Dialect, rule, src: str) -> tuple[str, str]:
    """(column, filter) of a rule's scope: NULL values and the rule's exempt values left out."""
    col = SCOPE_COLUMNS[rule.scope]
    cond = f"{col} IS NOT NULL"
    if rule.exempt:
        cond += f" AND {col} NOT IN ({', '.join(d.str_lit(v) for v in rule.exempt)})"
    return col, cond


def _sliding(d: Dialect, rule, src: str, measure: str, limit: float, unit: str) -> str:
    col, cond = _scoped(d, rule, src)
    w = int(rule.params.window_s)
    # Any window of w seconds lies within two adjacent w-second buckets, so only scope values whose busiest pair of
    # adjacent buckets exceeds the limit can exceed it in a sliding window: a cheap GROUP BY spares the window sort
    # for everyone else (exact, not an approximation).
    per = (
        f"SELECT {col} AS sv, CAST(floor({epoch_ms(d, 'timestamp')} / {w * 1000}) AS BIGINT) AS b, {measure} AS m "
        f"FROM {src} WHERE {cond} GROUP BY {col}, CAST(floor({epoch_ms(d, 'timestamp')} / {w * 1000}) AS BIGINT)"
    )
    pairs = (
        f"SELECT sv, m + CASE WHEN LAG(b) OVER (PARTITION BY sv ORDER BY b) = b - 1 "
        f"THEN LAG(m) OVER (PARTITION BY sv ORDER BY b) ELSE 0 END AS pair FROM ({per}) p"
    )
    hot = f"SELECT DISTINCT sv FROM ({pairs}) q WHERE pair > {limit}"
    cond = f"{cond} AND {col} IN ({hot})"
    return (
        f"SELECT {_head(d, rule)}, sv AS scope_value, first_ts - INTERVAL '{w}' SECOND AS window_start, "
        f"last_ts AS window_end, CAST(peak AS DOUBLE) AS value, CAST({limit} AS DOUBLE) AS threshold, over_n AS count, "
        f"CAST(NULL AS STRING) AS request_id, 'peak ' || {_txt('peak')} || ' {unit} in {w} s (limit {limit:g}); ' || "
        f"{_txt('over_n')} || ' requests over the limit' AS evidence FROM ("
        f"SELECT sv, MIN(ts) AS first_ts, MAX(ts) AS last_ts, MAX(m) AS peak, COUNT(*) AS over_n FROM ("
        f"SELECT sv, ts, {measure} OVER (PARTITION BY sv ORDER BY t RANGE BETWEEN {w * 1000 - 1} PRECEDING AND CURRENT ROW) AS m "
        f"FROM (SELECT {col} AS sv, timestamp AS ts, {epoch_ms(d, 'timestamp')} AS t, input_tokens, output_tokens "
        f"FROM {src} WHERE {cond}) r) w WHERE m > {limit} GROUP BY sv) g"
    )


def request_rate_sql(d: Dialect, rule, src: str) -> str:
    """Scope values that sent more than max_requests within any window_s seconds (a sliding RANGE frame)."""
    return _sliding(d, rule, src, "COUNT(*)", rule.params.max_requests, "requests")


def token_rate_sql(d: Dialect, rule, src: str) -> str:
    """Scope values that used more than max_tokens within any window_s seconds."""
    tok = {
        "input": "COALESCE(input_tokens, 0)",
        "output": "COALESCE(output_tokens, 0)",
        "total": "COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0)",
    }[rule.params.tokens]
    return _sliding(d, rule, src, f"SUM({tok})", rule.params.max_tokens, f"{rule.params.tokens} tokens")


def burst_baseline_sql(d: Dialect, rule, history: str) -> tuple[str, str]:
    """The history side of a burst rule, as two queries: per scope value (sv, med, mad, active: the median and MAD of
    its bucket counts, its active buckets) and one row for everyone (pmed, pmad: of all scope values' buckets; smed:
    the service's median bucket). They depend on the history only, so a live scan can store them once a day."""
    p = rule.params
    col, cond = _scoped(d, rule, history)
    b = d.bucket("timestamp", p.bucket_s)
    counts = f"SELECT {col} AS sv, {b} AS bucket, COUNT(*) AS n FROM {history} WHERE {cond} GROUP BY {col}, {b}"
    med = f"SELECT sv, {d.quantile('n', 0.5)} AS med, COUNT(*) AS active FROM ({counts}) c GROUP BY sv"
    users = (
        f"SELECT c.sv, CAST(m.med AS DOUBLE) AS med, CAST({d.quantile('abs(c.n - m.med)', 0.5)} AS DOUBLE) AS mad, "
        f"m.active FROM ({counts}) c JOIN ({med}) m ON c.sv = m.sv GROUP BY c.sv, m.med, m.active"
    )
    pop = (
        f"SELECT {d.quantile('n', 0.5)} AS pmed, {d.quantile('abs(n - pm)', 0.5)} AS pmad FROM ("
        f"SELECT n, {d.quantile('n', 0.5)} OVER () AS pm FROM ({counts}) c0) c1"
    )
    svc = f"SELECT {b} AS bucket, COUNT(*) AS n FROM {history} GROUP BY {b}"
    svc_med = f"SELECT {d.quantile('n', 0.5)} AS smed FROM ({svc}) s0"
    population = (
        f"SELECT CAST(p.pmed AS DOUBLE) AS pmed, CAST(p.pmad AS DOUBLE) AS pmad, CAST(s.smed AS DOUBLE) AS smed "
        f"FROM ({pop}) p CROSS JOIN ({svc_med}) s"
    )
    return users, population


def burst_sql(d: Dialect, rule, src: str, history: str, baseline: tuple[str, str] | None = None) -> str:
    """Buckets of `src` far above the scope value's own history in `history` (robust z on median and MAD).

    `baseline`: relations holding burst_baseline_sql's two results for this rule (stored by a live scan), read
    instead of recomputing them from `history`."""
    p = rule.params
    b = d.bucket("timestamp", p.bucket_s)
    if baseline is None:
        users, population = (f"({q})" for q in burst_baseline_sql(d, rule, history))
    else:
        users, population = baseline
    cur_col, cur_cond = _scoped(d, rule, src)
    current = (
        f"SELECT {cur_col} AS sv, {b} AS bucket, COUNT(*) AS n FROM {src} WHERE {cur_cond} GROUP BY {cur_col}, {b}"
    )
    base = (
        f"SELECT c.sv, c.bucket, c.n, CASE WHEN s.active >= {p.min_history} THEN s.med ELSE p.pmed END AS med, "
        f"CASE WHEN s.active >= {p.min_history} THEN s.mad ELSE p.pmad END AS mad, p.smed FROM ({current}) c "
        f"LEFT JOIN {users} s ON c.sv = s.sv CROSS JOIN {population} p"
    )
    scaled = "n"
    if p.service_relative:
        # The rest of the service in the same bucket against its typical bucket: when everyone is k times busier
        # (a launch, a retry storm), each user's count is divided by k. The user's own requests are left out of
        # "the rest", so one abuser, however loud, never discounts themselves. Only ever a discount (<= 1): a quiet
        # night does not inflate anyone.
        svc_now = f"SELECT {b} AS bucket, COUNT(*) AS total FROM {src} GROUP BY {b}"
        base = (
            f"SELECT x.*, LEAST(1.0, CAST(x.smed AS DOUBLE) / GREATEST(t.total - x.n, 1)) AS factor FROM ({base}) x "
            f"JOIN ({svc_now}) t ON x.bucket = t.bucket"
        )
        scaled = "n * COALESCE(factor, 1.0)"
    z = f"0.6745 * ({scaled} - med) / GREATEST(COALESCE(mad, 0), {p.mad_floor})"
    scored = f"SELECT sv, bucket, n, med, {z} AS z FROM ({base}) x"
    return (
        f"SELECT {_head(d, rule)}, sv AS scope_value, first_b AS window_start, last_b + INTERVAL '{p.bucket_s}' SECOND "
        f"AS window_end, max_z AS value, CAST({p.z} AS DOUBLE) AS threshold, total AS count, CAST(NULL AS STRING) AS request_id, "
        f"'peak ' || {_txt('peak')} || ' requests in {p.bucket_s} s vs a typical ' || {_txt('CAST(round(med, 1) AS DOUBLE)')} "
        f"|| ' (robust z ' || {_txt('CAST(round(max_z, 1) AS DOUBLE)')} || ')' AS evidence FROM ("
        f"SELECT sv, MIN(bucket) AS first_b, MAX(bucket) AS last_b, MAX(z) AS max_z, MAX(n) AS peak, SUM(n) AS total, "
        f"MAX(med) AS med FROM ({scored}) s WHERE z >= {p.z} AND n >= {p.min_requests} GROUP BY sv) g"
    )


def concurrency_sql(d: Dialect, rule, src: str) -> str:
    """Scope values with more than max_in_flight requests open at once (an event sweep over starts and ends)."""
    col, cond = _scoped(d, rule, src)
    limit = rule.params.max_in_flight
    t = epoch_ms(d, "timestamp")
    events = (
        f"SELECT {col} AS sv, {t} AS t, 1 AS delta FROM {src} WHERE {cond} UNION ALL "
        f"SELECT {col} AS sv, {t} + CAST(COALESCE(latency_ms, 0) AS BIGINT) AS t, -1 AS delta FROM {src} WHERE {cond}"
    )
    # One integer sort key (ends before starts at the same millisecond): a single-key sort is the cheap one.
    sweep = (
        f"SELECT sv, t, delta, SUM(delta) OVER (PARTITION BY sv ORDER BY t * 2 + CAST((delta + 1) / 2 AS BIGINT) "
        f"ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS open_n FROM ({events}) e"
    )
    return (
        f"SELECT {_head(d, rule)}, sv AS scope_value, {ms_to_ts(d, 'first_t')} AS window_start, "
        f"{ms_to_ts(d, 'last_t')} AS window_end, CAST(peak AS DOUBLE) AS value, CAST({limit} AS DOUBLE) AS threshold, "
        f"over_n AS count, CAST(NULL AS STRING) AS request_id, 'peak ' || {_txt('peak')} || "
        f"' requests in flight (limit {limit}); ' || {_txt('over_n')} || ' started over the limit' AS evidence FROM ("
        f"SELECT sv, MIN(t) AS first_t, MAX(t) AS last_t, MAX(open_n) AS peak, COUNT(*) AS over_n FROM ({sweep}) s "
        f"WHERE open_n > {limit} AND delta = 1 GROUP BY sv) g"
    )


def error_spike_sql(d: Dialect, rule, src: str) -> str:
    """Scope values with many errors at a high error rate in a window: what scanning and probing look like."""
    p = rule.params
    col, cond = _scoped(d, rule, src)
    b = d.bucket("timestamp", p.window_s)
    per = (
        f"SELECT {col} AS sv, {b} AS bucket, COUNT(*) AS n, SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END) AS errors "
        f"FROM {src} WHERE {cond} GROUP BY {col}, {b}"
    )
    return (
        f"SELECT {_head(d, rule)}, sv AS scope_value, first_b AS window_start, last_b + INTERVAL '{p.window_s}' SECOND "
        f"AS window_end, max_rate AS value, CAST({p.min_error_rate} AS DOUBLE) AS threshold, errors AS count, "
        f"CAST(NULL AS STRING) AS request_id, {_txt('errors')} || ' errors of ' || {_txt('n')} || ' requests in ' || "
        f"{_txt('windows')} || ' window(s) of {p.window_s} s' AS evidence FROM ("
        f"SELECT sv, MIN(bucket) AS first_b, MAX(bucket) AS last_b, MAX(CAST(errors AS DOUBLE) / n) AS max_rate, "
        f"SUM(errors) AS errors, SUM(n) AS n, COUNT(*) AS windows FROM ({per}) x "
        f"WHERE errors >= {p.min_errors} AND CAST(errors AS DOUBLE) / n >= {p.min_error_rate} GROUP BY sv) g"
    )


def oversized_sql(d: Dialect, rule, src: str) -> str:
    """Requests whose input tokens or prompt length exceed the limits (one finding a request)."""
    p = rule.params
    col, _ = _scoped(d, rule, src)
    conds, value = [], []
    if p.max_input_tokens:
        conds.append(f"input_tokens > {p.max_input_tokens}")
        value.append(f"CAST(input_tokens AS DOUBLE) / {p.max_input_tokens}")
    if p.max_prompt_chars:
        conds.append(f"length(prompt) > {p.max_prompt_chars}")
        value.append(f"CAST(length(prompt) AS DOUBLE) / {p.max_prompt_chars}")
    ratio = value[0] if len(value) == 1 else f"GREATEST({', '.join(f'COALESCE({v}, 0)' for v in value)})"
    exempt = (
        f" AND ({col} IS NULL OR {col} NOT IN ({', '.join(d.str_lit(v) for v in rule.exempt)}))" if rule.exempt else ""
    )
    return (
        f"SELECT {_head(d, rule)}, {col} AS scope_value, timestamp AS window_start, timestamp AS window_end, "
        f"{ratio} AS value, CAST(1 AS DOUBLE) AS threshold, CAST(1 AS BIGINT) AS count, request_id, "
        f"'input_tokens ' || COALESCE({_txt('input_tokens')}, '?') || ', prompt ' || COALESCE({_txt('length(prompt)')}, '0') "
        f"|| ' chars' AS evidence FROM {src} WHERE ({' OR '.join(conds)}){exempt}"
    )


def _ipv4_int(d: Dialect, col: str) -> str:
    parts = [f"TRY_CAST({d.split_part(col, '.', i)} AS BIGINT)" for i in range(1, 5)]
    return f"({parts[0]} * 16777216 + {parts[1]} * 65536 + {parts[2]} * 256 + {parts[3]})"


def list_sql(d: Dialect, rule, src: str) -> str:
    """Requests from blocked scope values (blocklist) or from values not on the list (allowlist), per value."""
    col, cond = _scoped(d, rule, src)
    exact = [v for v in rule.params.values if "/" not in v]
    tests = [f"{col} IN ({', '.join(d.str_lit(v) for v in exact)})"] if exact else []
    for v in (v for v in rule.params.values if "/" in v):
        net = ipaddress.IPv4Network(v, strict=False)
        lo, hi = int(net.network_address), int(net.broadcast_address)
        tests.append(f"({_ipv4_int(d, col)} BETWEEN {lo} AND {hi})")
    listed = f"COALESCE({' OR '.join(tests)}, false)"
    hit = listed if rule.kind == "blocklist" else f"NOT {listed}"
    what = "on the block list" if rule.kind == "blocklist" else "not on the allow list"
    return (
        f"SELECT {_head(d, rule)}, {col} AS scope_value, MIN(timestamp) AS window_start, MAX(timestamp) AS window_end, "
        f"CAST(COUNT(*) AS DOUBLE) AS value, CAST(0 AS DOUBLE) AS threshold, COUNT(*) AS count, "
        f"CAST(NULL AS STRING) AS request_id, {_txt('COUNT(*)')} || ' requests from a {rule.scope} {what}' AS evidence "
        f"FROM {src} WHERE {cond} AND {hit} GROUP BY {col}"
    )


def window_sql(d: Dialect, rule, src: str, history: str | None = None, baseline: tuple[str, str] | None = None) -> str:
    """The SQL of one window rule over the requests relation `src` (`history` feeds bursts, default `src`; a burst
    rule's stored `baseline` replaces its history)."""
    if rule.kind == "request_rate":
        return request_rate_sql(d, rule, src)
    if rule.kind == "token_rate":
        return token_rate_sql(d, rule, src)
    if rule.kind == "burst":
        return burst_sql(d, rule, src, history or src, baseline)
    if rule.kind == "concurrency":
        return concurrency_sql(d, rule, src)
    if rule.kind == "error_spike":
        return error_spike_sql(d, rule, src)
    if rule.kind == "oversized_input":
        return oversized_sql(d, rule, src)
    if rule.kind in ("blocklist", "allowlist"):
        return list_sql(d, rule, src)
    raise ValueError(f"{rule.kind} is not a window rule")
