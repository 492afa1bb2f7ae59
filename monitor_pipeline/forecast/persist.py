"""Save a fitted forecaster as an MLflow model in its own flavour (pytorch, statsmodels, pyfunc) and load it back.

The flavour directory holds what MLflow knows how to load; `forecaster.json` beside it holds what our wrapper adds
(season, normalisation, interval widths, orders), so `load_forecaster` rebuilds a working Forecaster from either.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from monitor_pipeline.forecast.base import Forecaster
from monitor_pipeline.forecast.naive import SeasonalNaive

META = "forecaster.json"


def _naive_pyfunc():
    import mlflow.pyfunc

    class SeasonalNaivePyfunc(mlflow.pyfunc.PythonModel):
        """pyfunc face of the baseline: input a frame with `value` history, output the next season."""

        def predict(self, context, model_input, params=None):  # MLflow calls it with this signature
            meta = json.loads(Path(context.artifacts["meta"]).read_text())
            values = np.asarray(model_input["value"], dtype=float)
            return values[-meta["season"] :]

    return SeasonalNaivePyfunc()


def save_forecaster(model: Forecaster, path: str | Path) -> Path:
    """Write `model` under `path`/model (its MLflow flavour) and `path`/forecaster.json; returns the model dir."""
    # Imported here: torch and statsmodels are only needed once a model is saved, not to load the code location.
    from monitor_pipeline.forecast.arima import ARIMAForecaster
    from monitor_pipeline.forecast.neural import RNNForecaster

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    target = path / "model"
    meta: dict = {"kind": model.name, "season": model.season, "level": model.level}
    if isinstance(model, RNNForecaster):
        import mlflow.pytorch

        meta |= {
            "cell": model.cell,
            "horizon": model.horizon,
            "window": model.window,
            "hidden": model.hidden,
            "base_seasons": model.base_seasons,
            "layers": model.layers,
            "mu": model.mu,
            "sd": model.sd,
            "halfwidth": model.halfwidth.tolist(),
        }
        model.model.to("cpu")
        # Pickle, not MLflow 3's default pt2 trace: the module's class ships with this package.
        mlflow.pytorch.save_model(
            model.model, str(target), pip_requirements=["torch==2.13.0"], serialization_format="pickle"
        )
        model.model.to(model.device)
    elif isinstance(model, ARIMAForecaster):
        import mlflow.statsmodels

        meta |= {
            "center": model.center,
            "scale": model.scale,
            "order": model.order,
            "seasonal_order": model.seasonal_order,
            "aic": model.aic,
            "harmonics": model.harmonics,
            "max_train": model.max_train,
        }
        mlflow.statsmodels.save_model(model.result, str(target), remove_data=True, pip_requirements=["statsmodels"])
    elif isinstance(model, SeasonalNaive):
        import mlflow.pyfunc

        meta |= {"sigma": model.sigma}
        (path / META).write_text(json.dumps(meta))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MLflow asks for type hints to infer a signature; history is free-form
            mlflow.pyfunc.save_model(
                str(target),
                python_model=_naive_pyfunc(),
                artifacts={"meta": str(path / META)},
                pip_requirements=["numpy"],
            )
    else:
        raise TypeError(f"cannot save {type(model).__name__}")
    (path / META).write_text(json.dumps(meta))
    return target


def load_forecaster(path: str | Path, device: str | None = None) -> Forecaster:
    """Rebuild a fitted Forecaster from a directory written by save_forecaster."""
    path = Path(path)
    meta = json.loads((path / META).read_text())
    kind = meta["kind"]
    if kind in ("lstm", "gru"):
        import mlflow.pytorch

        from monitor_pipeline.forecast.neural import RNNForecaster

        rnn = RNNForecaster(
            meta["season"],
            cell=meta["cell"],
            horizon=meta["horizon"],
            window=meta["window"],
            hidden=meta["hidden"],
            layers=meta["layers"],
            level=meta["level"],
            device=device or "cpu",
            base_seasons=meta.get("base_seasons", 7),
        )
        rnn.model = mlflow.pytorch.load_model(str(path / "model"), map_location=rnn.device)
        rnn.mu, rnn.sd, rnn.halfwidth = meta["mu"], meta["sd"], np.asarray(meta["halfwidth"])
        m: Forecaster = rnn
    elif kind == "arima":
        import mlflow.statsmodels

        from monitor_pipeline.forecast.arima import ARIMAForecaster

        arima = ARIMAForecaster(
            meta["season"], level=meta["level"], max_train=meta["max_train"], harmonics=meta["harmonics"]
        )
        arima.result = mlflow.statsmodels.load_model(str(path / "model"))
        arima.center, arima.scale, arima.aic = meta["center"], meta["scale"], meta["aic"]
        arima.order, arima.seasonal_order = tuple(meta["order"]), tuple(meta["seasonal_order"])
        m = arima
    elif kind == "seasonal_naive":
        naive = SeasonalNaive(meta["season"], level=meta["level"])
        naive.sigma = meta["sigma"]
        m = naive
    else:
        raise ValueError(f"{path / META}: unknown forecaster kind {kind!r}")
    m.fitted = True
    return m
