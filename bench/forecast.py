"""Forecast benchmark on real traffic: `python bench/forecast.py [--quick] [--series NAME ...]`.

Backtests seasonal_naive, arima, lstm and gru (rolling origin: fit on the head, `folds` origins of `horizon` steps)
on real series from ../shared/data (see bench/_series.py), prints one JSON line per series and a final summary line:
per model mean/median MASE and sMAPE and training seconds, each RNN's MASE over seasonal-naive's, its wins over
ARIMA, and the speed targets: training an LSTM on 30 days of 5-minute windows (8640 points, <= 60 s on 2 CPU cores)
and scoring a day (288 one-step scores and a 288-step predict, <= 1 s each). Goal: an RNN's MASE < 0.8 x
seasonal-naive on most series and ahead of ARIMA on at least half. The baseline is seasonal-naive in the same run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

import _series  # noqa: E402

from monitor_pipeline.forecast.backtest import backtest  # noqa: E402
from monitor_pipeline.forecast.base import Forecaster, NotEnoughData  # noqa: E402
from monitor_pipeline.forecast.selection import ORDER, make_model  # noqa: E402

RNNS = ("lstm", "gru")


def build(name: str, s: _series.Series, epochs: int | None) -> Forecaster:
    """A fresh model for series `s` (RNNs get the series' input window when it sets one)."""
    if name in RNNS:
        from monitor_pipeline.forecast.neural import RNNForecaster

        kw = {"epochs": epochs} if epochs else {}
        return RNNForecaster(s.season, cell=name, horizon=s.horizon, window=s.window, **kw)
    return make_model(name, s.season, s.horizon)


def run_series(s: _series.Series, models: tuple[str, ...], epochs: int | None) -> dict:
    """Backtest every model on one series; the per-series JSON row."""
    row: dict = {
        "series": s.name,
        "points": len(s.y),
        "step": s.step,
        "season": s.season,
        "horizon": s.horizon,
        "folds": s.folds,
        "models": {},
    }
    for name in models:
        model = build(name, s, epochs)
        try:
            r = backtest(model, s.y, s.horizon, folds=s.folds, phase0=s.phase0)
        except (NotEnoughData, ValueError) as exc:
            row["models"][name] = {"skipped": str(exc)}
            continue
        row["models"][name] = {
            "mase": round(r.mase, 4),
            "smape": round(r.smape, 3),
            "coverage": round(r.coverage, 3),
            "fit_s": round(r.fit_seconds, 2),
            "predict_ms": round(1000 * r.predict_seconds, 2),
        }
        if name in RNNS:
            row["models"][name]["epochs_run"] = len(model.history)
        if name == "arima":
            row["models"][name]["order"] = [model.order, model.seasonal_order]
    got = {m: v["mase"] for m, v in row["models"].items() if "mase" in v and math.isfinite(v["mase"])}
    naive, arima = got.get("seasonal_naive"), got.get("arima")
    for m in RNNS:
        if m in got and naive:
            row[f"{m}_vs_naive"] = round(got[m] / naive, 3)
        if m in got and arima is not None:
            row[f"{m}_beats_arima"] = got[m] < arima
    return row


def summarise(rows: list[dict], models: tuple[str, ...]) -> dict:
    """Per-model aggregates and the goal: best RNN < 0.8 x naive on most series, ahead of ARIMA on at least half."""
    out: dict = {"series": len(rows), "models": {}}
    for m in models:
        ok = [r["models"][m] for r in rows if "mase" in r["models"].get(m, {})]
        if not ok:
            continue
        mases = [v["mase"] for v in ok]
        out["models"][m] = {
            "mean_mase": round(float(np.mean(mases)), 4),
            "median_mase": round(float(np.median(mases)), 4),
            "mean_smape": round(float(np.mean([v["smape"] for v in ok])), 3),
            "fit_s_total": round(sum(v["fit_s"] for v in ok), 1),
            "series": len(ok),
        }
        if m in RNNS:
            ratios = [r[f"{m}_vs_naive"] for r in rows if f"{m}_vs_naive" in r]
            wins = [r[f"{m}_beats_arima"] for r in rows if f"{m}_beats_arima" in r]
            out["models"][m].update(
                median_vs_naive=round(float(np.median(ratios)), 3) if ratios else None,
                under_0_8_naive=f"{sum(x < 0.8 for x in ratios)}/{len(ratios)}",
                beats_naive=f"{sum(x < 1 for x in ratios)}/{len(ratios)}",
                beats_arima=f"{sum(wins)}/{len(wins)}",
            )
    best = [
        min(r[f"{m}_vs_naive"] for m in RNNS if f"{m}_vs_naive" in r)
        for r in rows
        if any(f"{m}_vs_naive" in r for m in RNNS)
    ]
    ahead = [any(r.get(f"{m}_beats_arima") for m in RNNS) for r in rows if any(f"{m}_beats_arima" in r for m in RNNS)]
    out["goal"] = {
        "best_rnn_under_0_8_naive": f"{sum(x < 0.8 for x in best)}/{len(best)}",
        "best_rnn_beats_arima": f"{sum(ahead)}/{len(ahead)}",
        "met": bool(best) and sum(x < 0.8 for x in best) > len(best) / 2 and sum(ahead) >= len(ahead) / 2,
    }
    return out


def speed(cell: str = "lstm", epochs: int | None = None) -> dict:
    """Train an RNN on 30 days of real 5-minute values; time 288 one-step scores and a 288-step predict."""
    import torch

    from monitor_pipeline.forecast.neural import RNNForecaster

    source, y, phase0 = _series.month_of_5min()
    kw = {"epochs": epochs} if epochs else {}
    model = RNNForecaster(288, cell=cell, horizon=12, **kw)
    t = time.perf_counter()
    model.fit(y, phase0=phase0)
    train = time.perf_counter() - t
    t = time.perf_counter()
    model.one_step(y, len(y) - 288, phase0=phase0)
    one_step = time.perf_counter() - t
    t = time.perf_counter()
    model.predict(y[:-288], 288, phase0=phase0)
    predict = time.perf_counter() - t
    return {
        "source": source,
        "model": cell,
        "device": model.device,
        "torch_threads": torch.get_num_threads(),
        "epochs_run": len(model.history),
        "train_s": round(train, 2),
        "train_target_s": 60,
        "train_ok": train <= 60,
        "score_day_one_step_s": round(one_step, 3),
        "score_day_predict_s": round(predict, 3),
        "score_target_s": 1,
        "score_ok": max(one_step, predict) <= 1,
        "load_avg_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }


def main() -> None:
    """Run the backtests (and the speed figures), print one JSON line per series and one summary line."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help=f"only {', '.join(_series.QUICK)}")
    ap.add_argument(
        "--series", action="append", metavar="NAME", help=f"one of: {', '.join(_series.CATALOG)} (repeatable)"
    )
    ap.add_argument("--models", default=",".join(ORDER), help="comma-separated subset of " + ",".join(ORDER))
    ap.add_argument("--epochs", type=int, default=None, help="RNN epoch cap (default: the model's)")
    ap.add_argument("--no-speed", action="store_true", help="skip the 30-day training / one-day scoring timings")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (1 is faster on a busy box)")
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    names = args.series or (list(_series.QUICK) if args.quick else list(_series.CATALOG))
    models = tuple(m for m in ORDER if m in args.models.split(","))
    rows, t0 = [], time.perf_counter()
    for name in names:
        row = run_series(_series.load(name), models, args.epochs)
        row["load_avg_1m"] = round(os.getloadavg()[0], 2)
        print(json.dumps(row), flush=True)
        rows.append(row)
    summary = {"summary": summarise(rows, models), "backtest_wall_s": round(time.perf_counter() - t0, 1)}
    if not args.no_speed:
        summary["speed"] = speed(epochs=args.epochs)
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
