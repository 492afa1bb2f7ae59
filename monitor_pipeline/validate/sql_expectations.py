"""A suite's expectations evaluated as DuckDB SQL, for the live loop's micro-batches.

Great Expectations costs ~3 s of CPU to import and build a context, in every process that validates; the live loop
starts a run process every minute, so GX alone would be a tenth of a core. The few expectation types the suites'
critical checks use are evaluated here with GX's semantics (nulls ignored except by not_null, `mostly`, strict
bounds, `$PARAMETER` values, every copy of a duplicate unexpected); tests/validate/test_sql_expectations.py holds them
to GX's own results on the same frames. A suite with any other type is run by GX (`supported` says which). The
daily checks keep running GX itself, with its Data Docs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pandas as pd

from monitor_pipeline.errors import ConfigError
from monitor_pipeline.validate.suites import ExpectationOutcome, ValidationOutcome

COLUMN_TYPES = {
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_unique",
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_match_regex",
}
TABLE_TYPES = {"expect_table_row_count_to_be_between"}
SAMPLE = 5


def supported(suite: dict[str, Any], severity: str | None = None) -> bool:
    """Whether every expectation (of `severity`, when given) is one this module evaluates."""
    return all(
        e.get("type") in COLUMN_TYPES | TABLE_TYPES
        for e in suite["expectations"]
        if severity is None or e.get("severity", "critical") == severity
    )


def _literal(value: Any) -> str:
    """A SQL literal of a bound or set member: numbers as they are, times as TIMESTAMPTZ, the rest as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.datetime):  # pd.Timestamp included
        ts = pd.Timestamp(value)
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        return f"TIMESTAMPTZ '{ts.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def _resolve(value: Any, parameters: dict[str, Any]) -> Any:
    if isinstance(value, dict) and "$PARAMETER" in value:
        name = value["$PARAMETER"]
        if name not in parameters:
            raise ConfigError(f"expectation parameter `{name}` has no value (known: {', '.join(sorted(parameters))})")
        return parameters[name]
    return value


def _unexpected(kind: str, col: str, kw: dict[str, Any], parameters: dict[str, Any]) -> str:
    """A SQL condition true on a non-null value the expectation does not accept."""
    if kind == "expect_column_values_to_be_between":
        lo, hi = _resolve(kw.get("min_value"), parameters), _resolve(kw.get("max_value"), parameters)
        bad = []
        if lo is not None:
            bad.append(f"{col} {'<=' if kw.get('strict_min') else '<'} {_literal(lo)}")
        if hi is not None:
            bad.append(f"{col} {'>=' if kw.get('strict_max') else '>'} {_literal(hi)}")
        return " OR ".join(bad) or "false"
    if kind == "expect_column_values_to_be_in_set":
        values = [_resolve(v, parameters) for v in kw.get("value_set") or []]
        return f"{col} NOT IN ({', '.join(_literal(v) for v in values)})" if values else "true"
    if kind == "expect_column_values_to_match_regex":
        return f"NOT regexp_matches(CAST({col} AS VARCHAR), {_literal(kw['regex'])})"
    if kind == "expect_column_values_to_be_unique":
        return f"count(*) OVER (PARTITION BY {col}) > 1"
    raise ValueError(kind)


def evaluate(
    suite: dict[str, Any], frame: pd.DataFrame, parameters: dict[str, Any], severity: str | None = None
) -> ValidationOutcome:
    """The suite's expectations (of `severity`, when given) on every row of `frame`, as GX would report them."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("batch", frame)
        rows = len(frame)
        outcomes = []
        for exp in suite["expectations"]:
            level = exp.get("severity", "critical")
            if severity is not None and level != severity:
                continue
            kind, kw = exp["type"], dict(exp.get("kwargs") or {})
            if kind in TABLE_TYPES:
                lo, hi = _resolve(kw.get("min_value"), parameters), _resolve(kw.get("max_value"), parameters)
                ok = (lo is None or rows >= lo) and (hi is None or rows <= hi)
                outcomes.append(ExpectationOutcome(kind, None, level, ok, None, None))
                continue
            outcomes.append(_column(con, kind, kw, level, parameters, rows))
        return ValidationOutcome(
            suite=suite.get("name", "suite"), rows=rows, validated_rows=rows, expectations=outcomes
        )
    finally:
        con.close()


def _column(
    con: duckdb.DuckDBPyConnection, kind: str, kw: dict[str, Any], level: str, parameters: dict[str, Any], rows: int
) -> ExpectationOutcome:
    """One column expectation: GX's unexpected count, percent (of non-null values; of all for not_null), success."""
    column = kw["column"]
    mostly = float(kw.get("mostly", 1.0))
    if column not in [d[0] for d in con.execute("SELECT * FROM batch LIMIT 0").description]:
        return ExpectationOutcome(kind, column, level, False, None, None, error=f'column "{column}" does not exist')
    col = '"' + column.replace('"', '""') + '"'
    if kind == "expect_column_values_to_not_be_null":
        bad_n = con.execute(f"SELECT count(*) FROM batch WHERE {col} IS NULL").fetchone()
        unexpected, base, sample = int(bad_n[0]) if bad_n else 0, rows, []
    else:
        cond = _unexpected(kind, col, kw, parameters)
        found = con.execute(
            f"SELECT count(*) FILTER (WHERE bad), count(*), list(v) FILTER (WHERE bad)[1:{SAMPLE}] FROM "
            f"(SELECT {col} AS v, COALESCE({cond}, false) AS bad FROM batch WHERE {col} IS NOT NULL) x"
        ).fetchone()
        unexpected, base = (int(found[0]), int(found[1])) if found else (0, 0)
        sample = [str(v) for v in (found[2] or [])] if found else []
    pct = 100.0 * unexpected / base if base else 0.0
    ok = base == 0 or (1 - unexpected / base) >= mostly
    return ExpectationOutcome(kind, column, level, ok, unexpected, pct, sample)
