"""A fitted forecaster's whole state in a directory (JSON, plus torch weights for the RNNs) and rebuilt from it.

No MLflow here: `tracking.forecaster_model` ships this directory inside the logged pyfunc model, so a registered
version carries its weights, scaling, Fourier terms and interval widths. Nothing is pickled: the RNN weights are a
torch state dict loaded with `weights_only`, ARIMA is its fitted parameters re-applied to the same specification.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from monitor_pipeline.forecast.base import Forecaster
from monitor_pipeline.forecast.naive import SeasonalNaive

STATE = "forecaster.json"
WEIGHTS = "weights.pt"
FORMAT = 1  # bump when the state's fields change meaning; load_state refuses states it does not know


def save_state(model: Forecaster, path: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write a fitted `model`'s state under `path` (created); `extra` (JSON) is kept beside it. Returns `path`."""
    # Imported here: torch and statsmodels are needed only for the kinds that use them.
    from monitor_pipeline.forecast.arima import ARIMAForecaster
    from monitor_pipeline.forecast.neural import RNNForecaster

    if not model.fitted:
        raise ValueError(f"{model.name}: only a fitted forecaster can be saved; call fit() first")
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    state: dict[str, Any] = {"format": FORMAT, "kind": model.name, "season": model.season, "level": model.level}
    if isinstance(model, RNNForecaster):
        import torch

        state |= {
            "cell": model.cell,
            "horizon": model.horizon,
            "window": model.window,
            "hidden": model.hidden,
            "layers": model.layers,
            "base_seasons": model.base_seasons,
            "members": len(model.model.members),
            "mu": model.mu,
            "sd": model.sd,
            "halfwidth": model.halfwidth.tolist(),
        }
        torch.save({k: v.detach().cpu() for k, v in model.model.state_dict().items()}, path / WEIGHTS)
    elif isinstance(model, ARIMAForecaster):
        assert model.order is not None  # fitted
        state |= {
            "center": model.center,
            "scale": model.scale,
            "order": list(model.order),
            "seasonal_order": list(model.seasonal_order),
            "trend": model.result.model.trend,
            "params": np.asarray(model.result.params, dtype=float).tolist(),  # JSON floats round-trip exactly
            "aic": model.aic,
            "harmonics": model.harmonics,
            "max_train": model.max_train,
        }
    elif isinstance(model, SeasonalNaive):
        state |= {"sigma": model.sigma}
    else:
        raise TypeError(f"cannot save {type(model).__name__}")
    (path / STATE).write_text(json.dumps({**state, "extra": extra or {}}, indent=1))
    return path


def read_extra(path: str | Path) -> dict[str, Any]:
    """The `extra` dict saved with the state."""
    return dict(json.loads((Path(path) / STATE).read_text()).get("extra", {}))


def load_state(path: str | Path, device: str | None = None) -> Forecaster:
    """Rebuild the fitted forecaster saved under `path` by save_state (RNNs on `device`, default CPU)."""
    path = Path(path)
    state = json.loads((path / STATE).read_text())
    if state.get("format") != FORMAT:
        raise ValueError(
            f"{path / STATE}: state format {state.get('format')!r}, this version reads {FORMAT}; "
            "retrain the forecaster (materialize forecast_champions) to log it again"
        )
    kind = state["kind"]
    if kind in ("lstm", "gru"):
        m: Forecaster = _load_rnn(path, state, device or "cpu")
    elif kind == "arima":
        m = _load_arima(state)
    elif kind == "seasonal_naive":
        naive = SeasonalNaive(state["season"], level=state["level"])
        naive.sigma = float(state["sigma"])
        m = naive
    else:
        raise ValueError(f"{path / STATE}: unknown forecaster kind {kind!r}")
    m.fitted = True
    return m


def _load_rnn(path: Path, s: dict, device: str) -> Forecaster:
    import torch

    from monitor_pipeline.forecast import rnn_inputs
    from monitor_pipeline.forecast.neural import Ensemble, RNNForecaster, SeasonalRNN

    rnn = RNNForecaster(
        s["season"],
        cell=s["cell"],
        horizon=s["horizon"],
        window=s["window"],
        hidden=s["hidden"],
        layers=s["layers"],
        level=s["level"],
        device=device,
        base_seasons=s["base_seasons"],
        seeds=s["members"],
    )
    members = [
        SeasonalRNN(
            s["cell"],
            s["hidden"],
            s["layers"],
            s["horizon"],
            s["mu"],
            s["sd"],
            rnn_inputs.FEATURES,
            rnn_inputs.BASELINES,
        )
        for _ in range(s["members"])
    ]
    model = Ensemble(members)
    model.load_state_dict(torch.load(path / WEIGHTS, map_location="cpu", weights_only=True))
    rnn.model = model.to(torch.device(device))
    rnn.mu, rnn.sd, rnn.halfwidth = float(s["mu"]), float(s["sd"]), np.asarray(s["halfwidth"], dtype=float)
    return rnn


def _load_arima(s: dict) -> Forecaster:
    import warnings

    from statsmodels.tsa.statespace.sarimax import SARIMAX

    from monitor_pipeline.forecast.arima import ARIMAForecaster

    arima = ARIMAForecaster(s["season"], level=s["level"], max_train=s["max_train"], harmonics=s["harmonics"])
    arima.order, arima.seasonal_order = tuple(s["order"]), tuple(s["seasonal_order"])
    arima.center, arima.scale, arima.aic = float(s["center"]), float(s["scale"]), float(s["aic"])
    # The same specification as the fit, filtered once with the fitted parameters on a placeholder series: forecasts
    # only ever `apply` these parameters to the history they are given, so the placeholder never reaches one.
    n = 2 * max(arima.seasonal_order[3], 1) + 10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        arima.result = SARIMAX(
            np.zeros(n),
            exog=arima._exog(n, 0),
            order=arima.order,
            seasonal_order=arima.seasonal_order,
            trend=s["trend"],
            enforce_stationarity=False,
            enforce_invertibility=True,
        ).filter(np.asarray(s["params"], dtype=float), cov_type="none")
    return arima
