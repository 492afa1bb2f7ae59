"""Redaction at ingestion: PII and secrets in prompt/completion (and quarantined raw lines) replaced before storage.

Both engines redact the typed rows before anything is written. A cheap RE2/Java pre-filter picks the few values that
can hold PII or a secret; only those go through the detectors (lib.security.redact), so clean traffic costs one scan.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from monitor_pipeline.ingest.engines.dialect import DUCKDB as D
from monitor_pipeline.security.redact import ALL_TYPES, redact_array, redact_raw_array
from monitor_pipeline.security.text import union_regex

PREFILTER = union_regex(ALL_TYPES, placeholders=False)
TEXT_COLUMNS = ("prompt", "completion")  # every row: free text
JSON_COLUMNS = ("extra",)  # every row: a JSON object of unmapped fields (only its string values are text)
QUARANTINE_COLUMNS = ("raw", "detail")  # quarantined and skipped lines only: they carry the line's text
BAD_ONLY = "(reason IS NOT NULL OR skip IS NOT NULL)"


def columns_for(schema_names: list[str]) -> list[tuple[str, bool]]:
    """(column, bad or skipped lines only) pairs to redact in a table with these canonical columns."""
    return [(c, False) for c in (*TEXT_COLUMNS, *JSON_COLUMNS) if c in schema_names] + [
        (c, True) for c in QUARANTINE_COLUMNS
    ]


def _redact(col: str, values):
    """Free text is redacted everywhere; a raw line or a JSON value only where it holds text, never in numbers."""
    return redact_array(values) if col in TEXT_COLUMNS else redact_raw_array(values)


def redact_duckdb(con, table: str, schema_names: list[str]) -> int:
    """Redact the text columns of `table` in place; returns how many values changed.

    One scan finds every row with a candidate in any column (RE2 pre-filter); the few candidates are redacted in
    Python and written back by one UPDATE.
    """
    cols = columns_for(schema_names)
    conds = {
        c: f"regexp_matches({c}, {D.str_lit(PREFILTER)})" + (f" AND {BAD_ONLY}" if bad_only else "")
        for c, bad_only in cols
    }
    picks = ", ".join(f"CASE WHEN {cond} THEN {c} END AS {c}" for c, cond in conds.items())
    cand = con.sql(
        f"SELECT source_file, line_no, {picks} FROM {table} WHERE "
        + " OR ".join(f"COALESCE({cond}, false)" for cond in conds.values())
    ).to_arrow_table()
    if not cand.num_rows:
        return 0
    changed, updates = 0, {}
    for c in conds:
        before = cand.column(c).combine_chunks()
        fixed = _redact(c, before)
        diff = pc.fill_null(pc.not_equal(fixed, before.cast(fixed.type)), False)
        n = int(pc.sum(diff).as_py() or 0)
        if n:
            changed += n
            updates[c] = pc.if_else(diff, fixed, pa.nulls(len(fixed), fixed.type))  # NULL: leave the value as it is
    if not updates:
        return 0
    red = pa.table({"source_file": cand.column("source_file"), "line_no": cand.column("line_no"), **updates})
    con.register("redacted_values", red)
    try:
        sets = ", ".join(f"{c} = COALESCE(x.{c}, {table}.{c})" for c in updates)
        con.execute(
            f"UPDATE {table} SET {sets} FROM redacted_values x "
            f"WHERE {table}.source_file = x.source_file AND {table}.line_no = x.line_no"
        )
    finally:
        con.unregister("redacted_values")
    return changed


def redact_spark(df, schema_names: list[str]):
    """`df` (persisted) with its text columns redacted; returns (new DataFrame, values changed).

    Spark pre-filters with RLIKE; the candidate values (few: PII is rare in traffic) are redacted on the driver and
    joined back, so executors need no Python worker with this package installed.
    """
    from pyspark.sql import functions as F

    cols = columns_for(schema_names)
    bad = F.col("reason").isNotNull() | F.col("skip").isNotNull()
    conds = [F.col(c).rlike(PREFILTER) & (bad if bad_only else F.lit(True)) for c, bad_only in cols]
    any_cond = conds[0]
    for cond in conds[1:]:
        any_cond = any_cond | cond
    cand = (
        df.filter(any_cond)
        .select(
            "source_file",
            "line_no",
            *[F.when(cond, F.col(c)).alias(c) for (c, _), cond in zip(cols, conds, strict=True)],
        )
        .toArrow()
    )
    if not cand.num_rows:
        return df, 0
    fixed = {c: _redact(c, cand.column(c)) for c, _ in cols}
    changed = sum(
        int(
            pc.sum(
                pc.fill_null(pc.not_equal(fixed[c], cand.column(c).combine_chunks().cast(fixed[c].type)), False)
            ).as_py()
            or 0
        )
        for c, _ in cols
    )
    red = pa.table(
        {
            "source_file": cand.column("source_file"),
            "line_no": cand.column("line_no"),
            **{f"red_{c}": fixed[c].cast(pa.string()) for c, _ in cols},
        }
    )
    spark = df.sparkSession
    red_df = spark.createDataFrame(red.to_pandas())
    out = df.join(F.broadcast(red_df) if red.num_rows < 1_000_000 else red_df, ["source_file", "line_no"], "left")
    for c, _ in cols:
        out = out.withColumn(c, F.coalesce(F.col(f"red_{c}"), F.col(c))).drop(f"red_{c}")
    return out.select(*df.columns), changed
