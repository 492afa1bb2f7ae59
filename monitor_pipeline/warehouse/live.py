"""The SQL of the live loop: what one micro-batch stored, and how far each live step has got."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from monitor_pipeline.ingest.serving.catalogue import SIGNALS
from monitor_pipeline.ingest.serving.windows import gauge_samples
from monitor_pipeline.warehouse.schema import TABLES
from monitor_pipeline.warehouse.tables import table_names

STATE_DDL = (
    "CREATE TABLE IF NOT EXISTS live_state (name VARCHAR PRIMARY KEY, until TIMESTAMPTZ, updated_at TIMESTAMPTZ)"
)


def batch_counts(con: duckdb.DuckDBPyConnection, ingested_at: dt.datetime) -> dict[str, int]:
    """Rows one micro-batch stored (by its ingest time), per table: clean rows, quarantined and skipped lines."""
    out = {}
    for t in (*(s.name for s in TABLES.values()), "quarantine", "skipped_lines"):
        out[t] = con.execute(f"SELECT count(*) FROM {t} WHERE ingested_at = ?", [ingested_at]).fetchall()[0][0]
    return out


def batch_requests(con: duckdb.DuckDBPyConnection, ingested_at: dt.datetime) -> pd.DataFrame:
    """The clean requests one micro-batch stored."""
    return con.execute("SELECT * FROM requests WHERE ingested_at = ?", [ingested_at]).df()


def batch_span(
    con: duckdb.DuckDBPyConnection, ingested_at: dt.datetime
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The first and last request time one micro-batch stored."""
    lo, hi = con.execute(
        "SELECT min(timestamp), max(timestamp) FROM requests WHERE ingested_at = ?", [ingested_at]
    ).fetchall()[0]
    return lo, hi


def get_until(con: duckdb.DuckDBPyConnection, name: str) -> dt.datetime | None:
    """How far the live step `name` has got (None before its first run)."""
    con.execute(STATE_DDL)
    row = con.execute("SELECT until FROM live_state WHERE name = ?", [name]).fetchall()
    return row[0][0] if row else None


def set_until(con: duckdb.DuckDBPyConnection, name: str, until: dt.datetime) -> None:
    """Record how far the live step `name` has got."""
    con.execute(STATE_DDL)
    con.execute("INSERT OR REPLACE INTO live_state VALUES (?, ?, ?)", [name, until, dt.datetime.now(dt.UTC)])


def line_counts(con: duckdb.DuckDBPyConnection, day: dt.date, sources: list[str]) -> dict[str, dict[str, int]]:
    """Per file of the day's live sources: clean rows, quarantined and skipped lines stored for it, with the lines its
    live cursor has read (what a batch re-read is compared with)."""
    if "ingest_cursors" not in table_names(con):
        return {}  # no live ingest has run into this warehouse
    cursors = con.execute(
        "SELECT label, lines FROM ingest_cursors WHERE source IN (SELECT unnest(?)) AND state = 'active'", [sources]
    ).fetchall()
    out: dict[str, dict[str, int]] = {}
    for label, lines in cursors:
        counts = {"lines_followed": int(lines), "clean": 0}
        for table, line, name in (
            *((t.name, "source_line", "clean") for t in TABLES.values()),
            ("quarantine", "line_no", "quarantined"),
            ("skipped_lines", "line_no", "skipped"),
        ):
            n = con.execute(
                f"SELECT count(*) FROM {table} WHERE source_file = ? AND partition_date = ? AND {line} <= ?",
                [label, day, lines],
            ).fetchall()[0][0]
            counts[name] = counts.get(name, 0) + n
        out[label] = counts
    return out


def latest_request(con: duckdb.DuckDBPyConnection, day: dt.date) -> dt.datetime | None:
    """The time of the day's latest stored request (None when it has none)."""
    return con.execute("SELECT max(timestamp) FROM requests WHERE partition_date = ?", [day]).fetchall()[0][0]


def kv_trend_samples(kv: pd.DataFrame) -> pd.DataFrame:
    """`gauge_samples(..., "kv_cache_usage")` in the trend rule's columns: the engine as host, the model as device."""
    return pd.DataFrame(
        {
            "timestamp": kv["timestamp"],
            "host": kv["serving_engine"],
            "device": kv["model"],
            "metric": "kv_cache_usage",
            "value": kv["value"],
            "instance": kv["instance"],
        }
    )


def capacity_samples(con: duckdb.DuckDBPyConnection, since: dt.datetime, until: dt.datetime) -> pd.DataFrame:
    """The raw samples of (since, until] that the live trend rule watches: each GPU's memory share (`resources`:
    host, device) and each serving engine's KV-cache usage (`gauges` and vLLM stats lines: engine, model, instance).
    Columns: timestamp, host, device, metric, value, instance."""
    tables = table_names(con)
    frames = []
    if "resources" in tables:
        gpu = con.execute(
            # A capture without a hostname column (a bare `nvidia-smi --query-gpu`) has no host: '' as in the
            # windows the hourly capacity forecast reads, so both key the same GPU alike (one alert thread).
            "SELECT timestamp, COALESCE(host, '') AS host, COALESCE(device, '') AS device, 'gpu_memory' AS metric, "
            "gpu_mem_used_mb / gpu_mem_total_mb AS value, "
            "'' AS instance FROM resources WHERE timestamp > ? AND timestamp <= ? AND gpu_mem_total_mb > 0 "
            "AND gpu_mem_used_mb IS NOT NULL",
            [since, until],
        ).df()
        frames.append(gpu)
    gauges = (
        con.execute(
            "SELECT timestamp, metric, labels, value FROM gauges WHERE timestamp > ? AND timestamp <= ? "
            "AND metric IN (SELECT unnest(?))",
            [since, until, [src.metric for src in SIGNALS["kv_cache_usage"]]],
        ).df()
        if "gauges" in tables
        else pd.DataFrame(columns=["timestamp", "metric", "labels", "value"])
    )
    log = (
        con.execute("SELECT * FROM engine_log WHERE timestamp > ? AND timestamp <= ?", [since, until]).df()
        if "engine_log" in tables
        else None
    )
    frames.append(kv_trend_samples(gauge_samples(gauges, "kv_cache_usage", log)))
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=["timestamp", "host", "device", "metric", "value", "instance"])
    out = pd.concat(frames, ignore_index=True)
    out["timestamp"] = pd.to_datetime(out["timestamp"], utc=True)
    return out
