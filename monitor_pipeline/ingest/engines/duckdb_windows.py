"""The DuckDB engine's window tables: request, resource and serving-engine windows recomputed for whole days (a batch
that replaced them) or for the 5-minute and 1-hour buckets an incremental batch touched (the `touched` temp table)."""

from __future__ import annotations

import datetime as dt

import duckdb

from monitor_pipeline.ingest.engines.base import IngestResult
from monitor_pipeline.ingest.engines.dialect import DUCKDB as D
from monitor_pipeline.ingest.engines.sql import request_windows_sql, resource_rows_sql, resource_windows_sql
from monitor_pipeline.ingest.serving import windows as serving_windows

WINDOW_SLICE_ROWS = 4_000_000
WINDOW_TABLES = ("request_windows", "resource_windows", "engine_windows")
SOURCES = ("requests", "online_log", "resources", "gauges", "engine_log")


def _insert(con: duckdb.DuckDBPyConnection, rows_of, has: dict[str, bool], keep: str = "true") -> None:
    """Insert the request and resource windows of the rows `rows_of(table)` selects, those passing `keep`."""
    if has["requests"] or has["online_log"]:
        online = rows_of("online_log") if has["online_log"] else None
        sql = request_windows_sql(D, rows_of("requests"), online)
        con.execute(f"INSERT INTO request_windows BY NAME SELECT * FROM ({sql}) w WHERE {keep}")
    if has["resources"] or has["gauges"]:
        rows = "(" + resource_rows_sql(D, rows_of("resources"), rows_of("gauges")) + ")"
        con.execute(
            f"INSERT INTO resource_windows BY NAME SELECT * FROM ({resource_windows_sql(D, rows)}) w WHERE {keep}"
        )


def _engine_windows(
    con: duckdb.DuckDBPyConnection,
    day: dt.date,
    lo: dt.datetime | None = None,
    hi: dt.datetime | None = None,
    keep: str = "true",
) -> None:
    """Insert the serving-engine windows of `day` (of [lo, hi) when given, reading 15 minutes before: a counter's
    increase pairs each sample with the one before it), computed in pandas: counter resets and histogram quantiles are
    clearer there than in SQL, and engine samples are few next to requests."""
    span, args = "", [day]
    if lo is not None and hi is not None:
        span, args = (
            " AND timestamp >= ? AND timestamp < ?",
            [day, lo - dt.timedelta(seconds=serving_windows.MAX_GAP_S), hi],
        )
    gauges = con.execute(
        "SELECT timestamp, metric, labels, value, source, partition_date FROM gauges "
        f"WHERE partition_date = ?{span} AND {serving_windows.metric_filter_sql()}",
        args,
    ).df()
    log = con.execute(
        "SELECT timestamp, engine_index, model, * EXCLUDE (timestamp, engine_index, model, source_file, source_line, "
        f"ingested_at) FROM engine_log WHERE partition_date = ?{span}",
        args,
    ).df()
    rows = serving_windows.engine_windows(gauges, log)
    if len(rows):
        con.register("engine_windows_new", rows)
        con.execute(f"INSERT INTO engine_windows BY NAME SELECT * FROM engine_windows_new w WHERE {keep}")
        con.unregister("engine_windows_new")


def _count(con: duckdb.DuckDBPyConnection, where: str, result: IngestResult) -> None:
    """The windows now stored that `where` selects, into the result's counts."""
    q = "SELECT window_size, count(*) FROM {t} w WHERE " + where + " GROUP BY 1"
    rw, sw, ew = (dict(con.execute(q.format(t=t)).fetchall()) for t in WINDOW_TABLES)
    result.windows_5m, result.windows_1h = rw.get("5m", 0), rw.get("1h", 0)
    result.resource_windows_5m, result.resource_windows_1h = sw.get("5m", 0), sw.get("1h", 0)
    result.engine_windows_5m, result.engine_windows_1h = ew.get("5m", 0), ew.get("1h", 0)


def _transaction(con: duckdb.DuckDBPyConnection, work) -> None:
    con.execute("BEGIN TRANSACTION")
    try:
        work()
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def day_windows(con: duckdb.DuckDBPyConnection, days: set[dt.date], result: IngestResult) -> None:
    """Recompute the windows of every day a batch replaced."""
    if not days:
        return
    con.execute("CREATE OR REPLACE TEMP TABLE days (d DATE)")
    con.executemany("INSERT INTO days VALUES (?)", [(d,) for d in days])
    rows: dict[tuple[str, dt.date], int] = {}
    for t in SOURCES:
        for d, n in con.execute(
            f"SELECT partition_date, count(*) FROM {t} WHERE partition_date IN (SELECT d FROM days) GROUP BY 1"
        ).fetchall():
            rows[(t, d)] = n

    def work() -> None:
        for table in WINDOW_TABLES:
            con.execute(f"DELETE FROM {table} WHERE partition_date IN (SELECT d FROM days)")
        for day in sorted(days):
            n = {t: rows.get((t, day), 0) for t in SOURCES}
            for lo, hi in _day_slices(day, max(n.values())):
                span = f"timestamp >= {D.ts_literal(lo.isoformat())} AND timestamp < {D.ts_literal(hi.isoformat())}"
                _insert(
                    con,
                    lambda t, span=span, day=day: f"(SELECT * FROM {t} WHERE partition_date = DATE '{day}' AND {span})",
                    {t: n[t] > 0 for t in SOURCES},
                )
            if n["gauges"] or n["engine_log"]:
                _engine_windows(con, day)

    _transaction(con, work)
    _count(con, "partition_date IN (SELECT d FROM days)", result)


def touched_windows(con: duckdb.DuckDBPyConnection, result: IngestResult) -> None:
    """Recompute the windows of the 5-minute and 1-hour buckets in the `touched` temp table (bucket, size, d)."""
    con.execute("CREATE OR REPLACE TEMP TABLE tw AS SELECT DISTINCT bucket, size FROM touched")
    hours = [r[0] for r in con.execute("SELECT bucket FROM tw WHERE size = '1h' ORDER BY 1").fetchall()]
    if not hours:
        return
    result.windows_recomputed = con.execute("SELECT count(*) FROM tw").fetchall()[0][0]
    days = sorted({r[0] for r in con.execute("SELECT DISTINCT d FROM touched").fetchall()})
    lo, hi = hours[0], hours[-1] + dt.timedelta(hours=1)
    day_list = ", ".join(f"DATE '{d.isoformat()}'" for d in days)

    def rows_of(t: str) -> str:
        # Rows of the touched hours (the partition filter lets DuckDB skip the rest of the table by its zone maps).
        return (
            f"(SELECT * FROM {t} WHERE partition_date IN ({day_list}) AND timestamp >= {D.ts_literal(lo.isoformat())} "
            f"AND timestamp < {D.ts_literal(hi.isoformat())} AND {D.bucket('timestamp', 3600)} IN "
            "(SELECT bucket FROM tw WHERE size = '1h'))"
        )

    keep = "(w.window_size, w.window_start) IN (SELECT size, bucket FROM tw)"
    has = {t: con.execute(f"SELECT count(*) FROM {rows_of(t)} x").fetchall()[0][0] > 0 for t in SOURCES}

    def work() -> None:
        for table in WINDOW_TABLES:
            con.execute(f"DELETE FROM {table} w WHERE {keep}")
        _insert(con, rows_of, has, keep)
        if has["gauges"] or has["engine_log"]:
            for day in days:
                _engine_windows(con, day, lo, hi, keep)

    _transaction(con, work)
    _count(con, keep, result)


def _day_slices(day: dt.date, rows: int) -> list[tuple[dt.datetime, dt.datetime]]:
    """Whole-hour slices of a UTC day, each of about WINDOW_SLICE_ROWS rows at most (every window lies inside one).

    Exact percentiles hold all of a group's values, so a very busy day is aggregated a few hours at a time.
    """
    parts = -(-rows // WINDOW_SLICE_ROWS)
    hours = next(h for h in (24, 12, 8, 6, 4, 3, 2, 1) if 24 // h >= parts or h == 1)
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    return [(start + dt.timedelta(hours=h), start + dt.timedelta(hours=h + hours)) for h in range(0, 24, hours)]
