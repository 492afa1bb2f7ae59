"""`engine_windows`: per window, serving engine, instance and model, the engine's queue, KV cache, throughput and
latency quantiles, computed from the `gauges` rows of vLLM, SGLang and TGI scrapes (or vLLM's stats log lines).

Gauges give the mean and max over the window's scrapes; counters a rate (their increase, resets handled, over
the seconds observed); histograms the quantiles of the observations made in the window (bucket increases, then
histogram_quantile). A pair of samples further apart than MAX_GAP_S is not used: it cannot be placed in one
window (Prometheus itself calls a series stale after 5 minutes).
"""

from __future__ import annotations

import json
import math
from functools import lru_cache

import numpy as np
import pandas as pd

from monitor_pipeline.ingest.serving.catalogue import (
    KEY_COLUMNS,
    QUANTILES,
    SIGNALS,
    VALUE_COLUMNS,
    Source,
    serving_engine,
)
from monitor_pipeline.ingest.serving.promql import histogram_quantile, parse_le
from monitor_pipeline.warehouse.schema import ENGINE_LOG_GAUGES

WINDOWS = {"5m": 300, "1h": 3600}
MAX_GAP_S = 900.0
GROUP = ["serving_engine", "instance", "engine_index", "model"]
COLUMNS = (*KEY_COLUMNS, *VALUE_COLUMNS, "partition_date")


@lru_cache(maxsize=1)
def _by_metric() -> dict[str, tuple[str, int, Source]]:
    """Stored metric name -> (signal, preference rank, source); histograms by their `_bucket` name."""
    out: dict[str, tuple[str, int, Source]] = {}
    for signal, sources in SIGNALS.items():
        for rank, s in enumerate(sources):
            out[s.metric + "_bucket" if s.kind == "histogram" else s.metric] = (signal, rank, s)
    return out


def _identity(labels: str, source: str) -> tuple[str, str, str, str, str]:
    """(instance, engine_index, model, series labels without `le`, le) of one label set."""
    try:
        d = json.loads(labels) if labels else {}
    except ValueError:
        d = {}
    if not isinstance(d, dict):
        d = {}
    instance = d.get("pod") or d.get("instance") or d.get("hostname") or d.get("Hostname") or source or ""
    index = d.get("engine") or d.get("dp_rank") or ""
    model = d.get("model_name") or d.get("model") or d.get("model_id") or ""
    le = d.pop("le", "")
    return str(instance), str(index), str(model), json.dumps(d, sort_keys=True), str(le)


def empty() -> pd.DataFrame:
    """An engine_windows frame with no rows (the table's columns and types)."""
    df = pd.DataFrame({c: pd.Series(dtype="float64") for c in COLUMNS})
    for c in ("window_size", "serving_engine", "instance", "engine_index", "model"):
        df[c] = df[c].astype("object")
    df["window_start"] = pd.Series(dtype="datetime64[us, UTC]")
    df["samples"] = df["samples"].astype("int64")
    df["partition_date"] = pd.Series(dtype="object")
    return df


def _prepare(gauges: pd.DataFrame) -> pd.DataFrame:
    """The engine samples of `gauges` with their signal, source rank, group and series identity."""
    meta = _by_metric()
    df = gauges[gauges["metric"].isin(meta.keys())].copy()
    if df.empty:
        return df
    if "source" not in df.columns:
        df["source"] = ""
    info = df["metric"].map(meta)
    df["signal"] = info.map(lambda x: x[0])
    df["rank"] = info.map(lambda x: x[1])
    df["kind"] = info.map(lambda x: x[2].kind)
    df["combine"] = info.map(lambda x: x[2].combine)
    df["value"] = df["value"].astype(float) * info.map(lambda x: x[2].scale).astype(float)
    df["serving_engine"] = df["metric"].map(serving_engine)
    ids = {key: _identity(*key) for key in df[["labels", "source"]].fillna("").itertuples(index=False, name=None)}
    ident = [ids[k] for k in df[["labels", "source"]].fillna("").itertuples(index=False, name=None)]
    df["instance"], df["engine_index"], df["model"], df["series_labels"], df["le"] = zip(*ident, strict=True)
    ts = pd.to_datetime(df["timestamp"], utc=True)
    df["t"] = (ts - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    return df[np.isfinite(df["value"])]


def _pairs(df: pd.DataFrame) -> pd.DataFrame:
    """Counter and bucket samples turned into (end time, seconds, increase) pairs per series."""
    s = df.sort_values(["metric", "series_labels", "le", "instance", "t"], kind="stable")
    key = ["metric", "series_labels", "le", "instance"]
    prev_v = s.groupby(key, sort=False)["value"].shift()
    prev_t = s.groupby(key, sort=False)["t"].shift()
    dv = s["value"] - prev_v
    s = s.assign(inc=np.where(dv >= 0, dv, s["value"]), dt=s["t"] - prev_t)
    return s[s["dt"].notna() & (s["dt"] > 0) & (s["dt"] <= MAX_GAP_S)]


def _first_source(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Only the rows of the most preferred source present per (keys, signal)."""
    best = df.groupby([*keys, "signal"], sort=False)["rank"].transform("min")
    return df[df["rank"] == best]


def _gauges(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """`<signal>_mean` / `<signal>_max` per window key from the gauge samples."""
    g = _first_source(df[df["kind"] == "gauge"], keys)
    if g.empty:
        return pd.DataFrame(columns=keys)
    # Series of one instance at one time combine first (sum of queues, max of usage), then over the window.
    per_t = g.groupby([*keys, "signal", "combine", "t"], sort=False)["value"]
    at_t = pd.concat(
        [
            per_t.sum()[lambda x: x.index.get_level_values("combine") == "sum"],
            per_t.max()[lambda x: x.index.get_level_values("combine") == "max"],
        ]
    ).reset_index()
    agg = at_t.groupby([*keys, "signal"])["value"].agg(["mean", "max"]).unstack("signal")
    agg.columns = [f"{sig}_{stat}" for stat, sig in agg.columns]
    return agg.reset_index()


def _counters(pairs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """`<signal>_per_s` per window key: each series' increase over the seconds it observed, summed over series."""
    c = _first_source(pairs[pairs["kind"] == "counter"], keys)
    if c.empty:
        return pd.DataFrame(columns=keys)
    per_series = c.groupby([*keys, "signal", "metric", "series_labels"], sort=False)[["inc", "dt"]].sum()
    per_series["rate"] = per_series["inc"] / per_series["dt"]
    per_series = per_series.reset_index()
    rate = per_series.groupby([*keys, "signal"])["rate"].sum().unstack("signal")
    inc = per_series.groupby([*keys, "signal"])["inc"].sum().unstack("signal")
    rate.columns = [f"{sig}_per_s" for sig in rate.columns]
    out = rate
    if {"prefix_cache_hits", "prefix_cache_queries"} <= set(inc.columns):
        out = out.assign(
            prefix_cache_hits_ratio=inc["prefix_cache_hits"]
            / inc["prefix_cache_queries"].where(inc["prefix_cache_queries"] > 0)
        )
    return out.reset_index()


def _histograms(pairs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """`<signal>_p<q>_s` per window key from the bucket increases of the window's sample pairs."""
    h = _first_source(pairs[pairs["kind"] == "histogram"], keys)
    if h.empty:
        return pd.DataFrame(columns=keys)
    buckets = h.groupby([*keys, "signal", "le"], sort=False)["inc"].sum().reset_index()
    rows = []
    for k, grp in buckets.groupby([*keys, "signal"], sort=False):
        *key, signal = k
        bounds = [parse_le(x) for x in grp["le"]]
        ok = [i for i, b in enumerate(bounds) if not math.isnan(b)]
        counts = grp["inc"].to_numpy()[ok]
        row = dict(zip(keys, key, strict=True))
        for q in QUANTILES[signal]:
            v = histogram_quantile(q, [bounds[i] for i in ok], counts)
            row[f"{signal}_p{round(q * 100)}_s"] = v if math.isfinite(v) else None
        rows.append(row)
    df = pd.DataFrame(rows)
    return df.groupby(keys, as_index=False).first()


def log_samples(engine_log: pd.DataFrame) -> pd.DataFrame:
    """vLLM stats-log rows (table engine_log) as gauge samples named like vLLM's own gauges (one per set value)."""
    cols = [c for c in ENGINE_LOG_GAUGES if c in engine_log.columns]
    if engine_log.empty or not cols:
        return pd.DataFrame(columns=["timestamp", "metric", "labels", "value", "source", "partition_date"])
    df = engine_log.assign(
        labels=[
            json.dumps(
                {"source_kind": "log", **({"engine": e} if e else {}), **({"model_name": m} if m else {})},
                sort_keys=True,
                separators=(",", ":"),
            )
            for e, m in zip(engine_log["engine_index"].fillna(""), engine_log["model"].fillna(""), strict=True)
        ]
    )
    ids = [c for c in df.columns if c not in ENGINE_LOG_GAUGES and c not in ("engine_index", "model")]
    long = df.melt(id_vars=ids, value_vars=cols, var_name="column", value_name="value").dropna(subset=["value"])
    long["metric"] = long["column"].map(ENGINE_LOG_GAUGES)
    return long.drop(columns="column")


def gauge_samples(gauges: pd.DataFrame, signal: str, engine_log: pd.DataFrame | None = None) -> pd.DataFrame:
    """One gauge signal's samples (e.g. `kv_cache_usage`) per engine instance and time, from the preferred source
    present and its series combined as engine_windows combines them: timestamp, serving_engine, instance, model,
    value."""
    out_cols = ["timestamp", "serving_engine", "instance", "model", "value"]
    if engine_log is not None and len(engine_log):
        gauges = pd.concat([gauges, log_samples(engine_log)], ignore_index=True)
    df = _prepare(gauges)
    if df.empty:
        return pd.DataFrame(columns=out_cols)
    g = _first_source(df[(df["kind"] == "gauge") & (df["signal"] == signal)], GROUP)
    if g.empty:
        return pd.DataFrame(columns=out_cols)
    by = g.groupby([*GROUP, "t"], sort=True)["value"]
    at_t = (by.max() if g["combine"].iloc[0] == "max" else by.sum()).reset_index()
    at_t["timestamp"] = pd.to_datetime(at_t["t"], unit="s", utc=True)
    return at_t[out_cols]


def engine_windows(gauges: pd.DataFrame, engine_log: pd.DataFrame | None = None) -> pd.DataFrame:
    """The engine_windows rows of a day's `gauges` (timestamp, metric, labels, value, source, partition_date) and
    vLLM stats-log rows (`engine_log`)."""
    if engine_log is not None and len(engine_log):
        gauges = pd.concat([gauges, log_samples(engine_log)], ignore_index=True)
    df = _prepare(gauges)
    if df.empty:
        return empty()
    pairs = _pairs(df[df["kind"] != "gauge"])
    out = []
    for name, sec in WINDOWS.items():
        df["window_start"] = (df["t"] // sec) * sec
        pairs = pairs.assign(window_start=(pairs["t"] // sec) * sec)
        keys = ["window_start", "partition_date", *GROUP]
        base = df.groupby(keys, as_index=False)["t"].nunique().rename(columns={"t": "samples"})
        for part in (_gauges(df, keys), _counters(pairs, keys), _histograms(pairs, keys)):
            if len(part.columns) > len(keys):
                base = base.merge(part, on=keys, how="left")
        base.insert(0, "window_size", name)
        out.append(base)
    w = pd.concat(out, ignore_index=True)
    # Throughput from token counters, else the averages vLLM's stats log lines print; the prefix-cache hit rate
    # from vLLM V1's hit and query counters, else the engine's own gauge.
    w["prompt_tokens_per_s"] = _first(w, "prompt_tokens_per_s", "prompt_throughput_mean")
    w["generation_tokens_per_s"] = _first(w, "generation_tokens_per_s", "generation_throughput_mean")
    w["prefix_cache_hit_rate"] = _first(w, "prefix_cache_hits_ratio", "prefix_cache_hit_rate_mean")
    w["window_start"] = pd.to_datetime(w["window_start"], unit="s", utc=True).astype("datetime64[us, UTC]")
    for c in COLUMNS:
        if c not in w.columns:
            w[c] = np.nan
    w = w[list(COLUMNS)].sort_values(["window_size", "serving_engine", "instance", "model", "window_start"])
    return w.reset_index(drop=True)


def _first(w: pd.DataFrame, *cols: str) -> pd.Series:
    """The first of `cols` that is set, row by row."""
    out = pd.Series(np.nan, index=w.index)
    for c in reversed(cols):
        if c in w.columns:
            out = w[c].where(w[c].notna(), out)
    return out.astype(float)


def ddl_columns() -> str:
    """engine_windows' columns as SQL column definitions (DuckDB types)."""
    text = ("window_size", "serving_engine", "instance", "engine_index", "model")
    cols = []
    for c in COLUMNS:
        if c in text:
            cols.append(f"{c} VARCHAR")
        elif c == "window_start":
            cols.append(f"{c} TIMESTAMPTZ")
        elif c == "samples":
            cols.append(f"{c} BIGINT")
        elif c == "partition_date":
            cols.append(f"{c} DATE")
        else:
            cols.append(f"{c} DOUBLE")
    return ", ".join(cols)


def metric_filter_sql() -> str:
    """A SQL condition on `metric` that keeps the samples engine_windows reads."""
    names = ", ".join("'" + m.replace("'", "''") + "'" for m in sorted(_by_metric()))
    return f"metric IN ({names})"
