"""PNG plots of a partition: the seed's online/offline log analyses, latency and errors, GPU memory."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pandas as pd

DPI = 100


def _pyplot() -> ModuleType:
    """pyplot on the file-only Agg backend, imported on first use: every Dagster run process imports this module and
    most draw nothing (a live micro-batch), and pyplot costs ~0.3 s of CPU to import."""
    import matplotlib

    matplotlib.use("Agg")  # files only, never a display
    import matplotlib.pyplot as plt

    return plt


def _empty(ax, title: str) -> None:
    ax.set_title(title)
    ax.text(0.5, 0.5, "no data for this partition", ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_xticks([])
    ax.set_yticks([])


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    _pyplot().close(fig)
    return path


def _time_axis(ax) -> None:
    from matplotlib.dates import DateFormatter

    ax.xaxis.set_major_formatter(DateFormatter("%H:%M"))
    ax.grid(alpha=0.3)


def online_requests_plot(windows_5m: pd.DataFrame, path: str | Path) -> Path:
    """Requests per 5-minute window, per model and in total: the seed's "Online Log Analysis Result"."""
    fig, ax = _pyplot().subplots(figsize=(10, 4))
    title = "Online Log Analysis Result: requests per 5-minute window"
    if windows_5m.empty:
        _empty(ax, title)
        return _save(fig, path)
    # Rows of the seed's online.log (pre-aggregated counts, no latency) are drawn apart, not added to the
    # request-log total: in a service that writes both they count the same requests.
    online = windows_5m["error_rate"].isna()
    wide = windows_5m.pivot_table(index="window_start", columns="model", values="requests", aggfunc="sum").fillna(0)
    log_models = sorted(set(windows_5m.loc[~online, "model"]))
    for model in wide.columns:
        ls = "-" if model in log_models else "--"
        ax.plot(wide.index, wide[model], lw=1, ls=ls, label=model + ("" if model in log_models else " (online.log)"))
    if len(log_models) > 1:
        ax.plot(wide.index, wide[log_models].sum(axis=1), lw=1.5, color="black", label="total (request log)")
    ax.set_title(title)
    ax.set_ylabel("requests")
    ax.legend(fontsize=8, loc="upper left")
    _time_axis(ax)
    return _save(fig, path)


def offline_jobs_plot(offline_log: pd.DataFrame, path: str | Path) -> Path:
    """Batch size and training-sample number by hour: the seed's "Offline Log Analysis Result"."""
    fig, (top, bottom) = _pyplot().subplots(2, 1, figsize=(10, 5), sharex=True)
    if offline_log.empty:
        _empty(top, "Offline Log Analysis Result")
        bottom.set_visible(False)
        return _save(fig, path)
    hourly = offline_log.set_index("timestamp").resample("1h").agg({"batch_size": "mean", "train_sample_num": "sum"})
    top.bar(hourly.index, hourly["batch_size"], width=0.03, color="tab:blue")
    top.set_ylabel("mean batch size")
    top.set_title("Offline Log Analysis Result: batch size and training samples by hour")
    bottom.bar(hourly.index, hourly["train_sample_num"], width=0.03, color="tab:orange")
    bottom.set_ylabel("training samples")
    _time_axis(top)
    _time_axis(bottom)
    return _save(fig, path)


def latency_errors_plot(windows_5m: pd.DataFrame, path: str | Path) -> Path:
    """Latency p95 and error rate per model over the day (5-minute windows)."""
    fig, (top, bottom) = _pyplot().subplots(2, 1, figsize=(10, 5), sharex=True)
    data = windows_5m.dropna(subset=["latency_p95_ms"]) if not windows_5m.empty else windows_5m
    if data.empty:
        _empty(top, "Latency p95 and error rate")
        bottom.set_visible(False)
        return _save(fig, path)
    for model, g in data.groupby("model"):
        top.plot(g["window_start"], g["latency_p95_ms"], lw=1, label=model)
        bottom.plot(g["window_start"], g["error_rate"] * 100, lw=1, label=model)
    top.set_title("Latency p95 and error rate (5-minute windows)")
    top.set_ylabel("latency p95 (ms)")
    bottom.set_ylabel("errors (%)")
    top.legend(fontsize=8, loc="upper left")
    _time_axis(top)
    _time_axis(bottom)
    return _save(fig, path)


def gpu_memory_plot(resource_windows_5m: pd.DataFrame, path: str | Path) -> Path:
    """Peak GPU memory per host and device (5-minute windows)."""
    fig, ax = _pyplot().subplots(figsize=(10, 4))
    data = (
        resource_windows_5m.dropna(subset=["gpu_mem_used_mb_max"])
        if not resource_windows_5m.empty
        else resource_windows_5m
    )
    if data.empty:
        _empty(ax, "GPU memory used")
        return _save(fig, path)
    for (host, device), g in data.groupby(["host", "device"]):
        ax.plot(g["window_start"], g["gpu_mem_used_mb_max"] / 1024, lw=1, label=f"{host}/{device}")
    ax.set_title("GPU memory used, max per 5-minute window (GiB)")
    ax.set_ylabel("GiB")
    ax.legend(fontsize=8, loc="upper left")
    _time_axis(ax)
    return _save(fig, path)


def _instances(engine_windows_5m: pd.DataFrame):
    """(label, rows) per serving-engine instance and model, in time order."""
    keys = ["serving_engine", "instance", "model"]
    for (eng, inst, model), g in engine_windows_5m.groupby(keys):
        # The instance usually names its model already (vllm-<model>:8000): say the model only when it does not.
        label = f"{eng} {inst}" + (f" ({model})" if model and model not in inst else "")
        yield label, g.sort_values("window_start")


def engine_queue_kv_plot(engine_windows_5m: pd.DataFrame, path: str | Path) -> Path:
    """Per serving-engine instance: KV-cache usage (max per window) above, waiting and running requests below."""
    fig, (top, bottom) = _pyplot().subplots(2, 1, figsize=(10, 5.5), sharex=True)
    if engine_windows_5m.empty:
        _empty(top, "KV-cache usage")
        _empty(bottom, "requests waiting and running")
        return _save(fig, path)
    for label, g in _instances(engine_windows_5m):
        top.plot(g["window_start"], 100 * g["kv_cache_usage_max"], lw=1, label=label)
        line = bottom.plot(g["window_start"], g["waiting_max"], lw=1.2, label=f"{label} waiting (max)")
        bottom.plot(
            g["window_start"], g["running_mean"], lw=0.8, ls=":", color=line[0].get_color(), label="running (mean)"
        )
    top.axhline(95, color="tab:red", lw=0.8, ls="--", label="95 %")
    top.set_title("KV-cache usage, max per 5-minute window (%)")
    top.set_ylabel("%")
    top.legend(fontsize=7, loc="upper left")
    bottom.set_title("requests waiting in the queue (max) and running (mean)")
    bottom.legend(fontsize=7, loc="upper left", ncol=2)
    _time_axis(top)
    _time_axis(bottom)
    return _save(fig, path)


def engine_latency_plot(engine_windows_5m: pd.DataFrame, path: str | Path) -> Path:
    """Per serving-engine instance: time to first token p95 and time per output token p95 (5-minute windows)."""
    fig, (top, bottom) = _pyplot().subplots(2, 1, figsize=(10, 5.5), sharex=True)
    if engine_windows_5m.empty:
        _empty(top, "time to first token p95")
        _empty(bottom, "time per output token p95")
        return _save(fig, path)
    for label, g in _instances(engine_windows_5m):
        top.plot(g["window_start"], 1000 * g["ttft_p95_s"], lw=1, label=label)
        bottom.plot(g["window_start"], 1000 * g["tpot_p95_s"], lw=1, label=label)
    top.set_title("time to first token, p95 per 5-minute window (ms)")
    top.set_ylabel("ms")
    top.legend(fontsize=7, loc="upper left")
    bottom.set_title("time per output token, p95 per 5-minute window (ms)")
    bottom.set_ylabel("ms")
    _time_axis(top)
    _time_axis(bottom)
    return _save(fig, path)


def forecast_plot(times: pd.DatetimeIndex, y, origin: int, forecast, title: str, path: str | Path) -> Path:
    """The recent history, the actual values after `origin` and the forecast made there with its interval."""
    import numpy as np

    fig, ax = _pyplot().subplots(figsize=(10, 3.5))
    h = len(forecast.mean)
    lo = max(0, origin - 2 * max(h, 48))
    ax.plot(times[lo : origin + h], np.asarray(y)[lo : origin + h], color="black", lw=1, label="actual")
    ft = times[origin : origin + h]
    ax.plot(ft, forecast.mean[: len(ft)], color="tab:blue", lw=1.5, label="forecast")
    ax.fill_between(
        ft,
        forecast.lower[: len(ft)],
        forecast.upper[: len(ft)],
        color="tab:blue",
        alpha=0.2,
        label=f"{forecast.level:.0%} interval",
    )
    ax.axvline(times[origin], color="grey", ls="--", lw=0.8)
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    _time_axis(ax)
    return _save(fig, path)


def resource_forecast_plot(
    actual: pd.Series, forecast: pd.Series, origin, threshold: float, crossing_at, title: str, path: str | Path
) -> Path:
    """A device metric over the day, the forecast made at `origin`, the threshold and the predicted crossing."""
    fig, ax = _pyplot().subplots(figsize=(10, 3.5))
    ax.plot(actual.index, actual.to_numpy(), color="black", lw=1, label="actual")
    ax.plot(forecast.index, forecast.to_numpy(), color="tab:blue", lw=1.5, ls="--", label="forecast")
    ax.axhline(threshold, color="tab:red", lw=1, label=f"threshold {threshold:g}")
    ax.axvline(origin, color="grey", ls=":", lw=0.8, label="forecast made")
    if crossing_at is not None:
        ax.axvline(crossing_at, color="tab:red", ls="--", lw=0.8, label="predicted crossing")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    _time_axis(ax)
    return _save(fig, path)


SEVERITY_COLOURS = {"warning": "tab:orange", "critical": "tab:red"}


def anomaly_plot(scored: pd.DataFrame, title: str, path: str | Path) -> Path:
    """One series over the day: actual against the one-step forecast and its interval, flagged windows marked.

    `scored`: `forecast.anomaly.score_windows` rows of one series (window_start, value, expected, lower, upper,
    severity)."""
    fig, ax = _pyplot().subplots(figsize=(10, 3.2))
    if scored.empty:
        _empty(ax, title)
        return _save(fig, path)
    d = scored.sort_values("window_start")
    t = d["window_start"]
    ax.fill_between(t, d["lower"], d["upper"], color="tab:blue", alpha=0.18, lw=0, label="forecast interval")
    ax.plot(t, d["expected"], color="tab:blue", lw=1, ls="--", label="forecast")
    ax.plot(t, d["value"], color="black", lw=1, label="actual")
    step = t.diff().median() if len(t) > 1 else pd.Timedelta(minutes=5)
    for severity, colour in SEVERITY_COLOURS.items():
        flagged = d[d["severity"] == severity]
        if flagged.empty:
            continue
        for start in flagged["window_start"]:  # the flagged window itself, so a run of windows reads as a band
            ax.axvspan(start, start + step, color=colour, alpha=0.12, lw=0)
        ax.scatter(flagged["window_start"], flagged["value"], color=colour, s=14, zorder=3, label=f"{severity}")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8, ncol=5)
    _time_axis(ax)
    return _save(fig, path)


def capacity_plot(
    windows: pd.DataFrame, thresholds: dict[str, float | None], flagged: pd.DataFrame, title: str, path: str | Path
) -> Path:
    """Each metric of each device over the day with its threshold; the origins whose forecast crossed it marked.

    `windows`: window_start, host, device and one column per metric; `flagged`: host, device, metric, origin of the
    forecasts predicting a crossing."""
    metrics = [m for m in thresholds if m in windows.columns] or ["(none)"]
    fig, axes = _pyplot().subplots(len(metrics), 1, figsize=(10, 2.6 * len(metrics)), sharex=True, squeeze=False)
    if windows.empty:
        for ax, m in zip(axes[:, 0], metrics, strict=True):
            _empty(ax, f"{title}: {m}")
        return _save(fig, path)
    for ax, metric in zip(axes[:, 0], metrics, strict=True):
        for (host, device), g in windows.groupby(["host", "device"], sort=True):
            g = g.sort_values("window_start")
            line = ax.plot(g["window_start"], g[metric], lw=1, label=f"{host}/{device}")
            marks = flagged[(flagged["host"] == host) & (flagged["device"] == device) & (flagged["metric"] == metric)]
            at = g.set_index("window_start")[metric].reindex(marks["origin"])
            ax.scatter(at.index, at.to_numpy(), color=line[0].get_color(), marker="^", s=22, zorder=3)
        if thresholds.get(metric) is not None:
            ax.axhline(thresholds[metric], color="tab:red", lw=0.8, ls="--", label=f"threshold {thresholds[metric]:g}")
        ax.set_title(f"{metric} (▲ a forecast made here crosses the threshold within the horizon)", fontsize=9)
        ax.legend(loc="upper left", fontsize=7, ncol=4)
        _time_axis(ax)
    fig.suptitle(title)
    return _save(fig, path)


def anomaly_plots(scored: pd.DataFrame, out_dir: str | Path, limit: int = 4) -> dict[str, Path]:
    """`anomaly_plot` of up to `limit` series by file name: the series with the most critical, then warning, windows."""
    if scored.empty:
        return {}
    flags = (
        scored.assign(critical=scored["severity"] == "critical", warning=scored["severity"] == "warning")
        .groupby("series")[["critical", "warning"]]
        .sum()
    )
    order = flags.sort_values(["critical", "warning"], ascending=False, kind="stable").index[:limit]
    out = {}
    for series in order:
        name = "anomaly_" + "".join(c if c.isalnum() or c in "._-" else "_" for c in str(series)) + ".png"
        n_crit, n_warn = int(flags.loc[series, "critical"]), int(flags.loc[series, "warning"])
        title = f"{series}: actual vs one-step forecast ({n_crit} critical, {n_warn} warning windows)"
        out[name] = anomaly_plot(scored[scored["series"] == series], title, Path(out_dir) / name)
    return out
