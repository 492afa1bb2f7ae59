"""A fitted forecaster as an MLflow pyfunc model that forecasts on its own.

The model's state (weights, scaling, Fourier terms, interval widths; `forecast.persist`) and what it needs to read
a frame (the series' window, its default horizon) travel as the model's `forecaster` artifact, so
`mlflow.pyfunc.load_model("models:/forecaster.<series>@champion").predict(df)` works in any process that has this
package installed. The frame contract is `forecast.frames`': `timestamp` and `value` of the recent windows in;
`timestamp`, `forecast`, `lower`, `upper` out. Params: `horizon` (windows ahead) and `mode` (`forecast`, or
`one_step`: each input window's forecast from the windows before it, as anomaly scoring uses it).
"""

from __future__ import annotations

import tempfile
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.pyfunc import PythonModel
from mlflow.types import ColSpec, DataType, ParamSchema, ParamSpec, Schema

from monitor_pipeline.forecast import frames
from monitor_pipeline.forecast.base import Forecaster
from monitor_pipeline.forecast.persist import load_state, read_extra, save_state

ARTIFACT = "forecaster"  # the artifact key (and folder) holding the forecaster's state
MODES = ("forecast", "one_step")


class ForecasterModel(PythonModel):
    """pyfunc face of a Forecaster: a frame of recent windows in, the forecast with its interval out."""

    forecaster: Forecaster
    window: str
    horizon: int
    series: str

    def load_context(self, context: Any) -> None:
        """Rebuild the forecaster from the `forecaster` artifact (on CPU)."""
        path = context.artifacts[ARTIFACT]
        extra = read_extra(path)
        self.forecaster = load_state(path)
        self.window, self.horizon, self.series = extra["window"], int(extra["horizon"]), extra["series"]

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """The forecast of the windows after the input (mode `forecast`) or of its own windows (`one_step`)."""
        params = params or {}
        mode = params.get("mode") or "forecast"
        if mode == "one_step":
            return frames.one_step_frame(self.forecaster, model_input, self.window)
        if mode != "forecast":
            raise ValueError(f"mode {mode!r}; allowed: {', '.join(MODES)}")
        horizon = int(params.get("horizon") or self.horizon)
        if horizon < 1:
            raise ValueError("horizon must be >= 1 (windows ahead)")
        return frames.forecast_frame(self.forecaster, model_input, self.window, horizon)


def signature(horizon: int) -> ModelSignature:
    """The frame contract as an MLflow signature, with `horizon` and `mode` as params."""
    inputs: list[Any] = [ColSpec(DataType.datetime, frames.TIMESTAMP), ColSpec(DataType.double, frames.VALUE)]
    outputs: list[Any] = [ColSpec(DataType.datetime, frames.TIMESTAMP)]
    outputs += [ColSpec(DataType.double, c) for c in (frames.FORECAST, frames.LOWER, frames.UPPER)]
    return ModelSignature(
        inputs=Schema(inputs),
        outputs=Schema(outputs),
        params=ParamSchema(
            [ParamSpec("horizon", DataType.long, horizon), ParamSpec("mode", DataType.string, "forecast")]
        ),
    )


def input_example(model: Forecaster, y: pd.Series) -> pd.DataFrame:
    """The last windows of the training series that the model needs to forecast (a season more for context)."""
    tail = y.iloc[-min(len(y), model.warmup + model.season) :]
    index = pd.DatetimeIndex(tail.index)
    if index.tz is not None:  # MLflow's datetime columns are timezone-naive: UTC without its zone
        index = index.tz_convert("UTC").tz_localize(None)
    return pd.DataFrame({frames.TIMESTAMP: index, frames.VALUE: tail.to_numpy(dtype=float)})


def requirements() -> list[str]:
    """What a process needs to load the model: this package (it brings torch, statsmodels, pandas)."""
    try:
        return [f"monitor-pipeline=={version('monitor-pipeline')}"]
    except PackageNotFoundError:  # run from a source tree that is not installed
        return ["monitor-pipeline"]


def log_forecaster(
    model: Forecaster,
    y: pd.Series,
    *,
    series: str,
    window: str,
    horizon: int,
    registered_model_name: str | None,
    tags: dict[str, str] | None = None,
) -> Any:
    """`mlflow.pyfunc.log_model` of a fitted `model` into the active run (a LoggedModel); returns its ModelInfo.

    `y` (the training windows, indexed by time) gives the input example. Registered under `registered_model_name`
    when given. The caller sets the tracking URI and the active run (`tracking.registry`).
    """
    with tempfile.TemporaryDirectory() as tmp:
        state = save_state(model, Path(tmp) / ARTIFACT, {"series": series, "window": window, "horizon": horizon})
        with warnings.catch_warnings():
            # MLflow suggests type hints to infer a signature: this one is given explicitly.
            warnings.filterwarnings("ignore", message=".*type hint.*")
            return mlflow.pyfunc.log_model(
                name=model.name,
                python_model=str(Path(__file__).with_name("forecaster_entry.py")),  # models from code: no pickle
                artifacts={ARTIFACT: str(state)},
                signature=signature(horizon),
                input_example=input_example(model, y),
                registered_model_name=registered_model_name,
                pip_requirements=requirements(),
                tags={"series": series, "model": model.name, **(tags or {})},
                params={k: str(v) for k, v in model.params().items()},
            )


def load_forecaster(path: str | Path) -> ForecasterModel:
    """The ForecasterModel of a pyfunc model downloaded to `path` (its forecaster as `.forecaster`)."""
    loaded = mlflow.pyfunc.load_model(str(path))
    python_model = loaded.unwrap_python_model()
    if not isinstance(python_model, ForecasterModel):
        raise TypeError(f"{path} holds a {type(python_model).__name__}, not a forecaster logged by log_forecaster")
    return python_model
