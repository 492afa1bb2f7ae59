"""A registered champion forecasts on its own: `mlflow.pyfunc.load_model("models:/forecaster.<series>@champion")` in a
fresh process with only the package installed returns the forecast with its interval."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from test_registry import hourly, register

from monitor_pipeline.tracking.registry import registered_name
from tests.forecast.test_forecasters import SEASON, series, small_rnn

KEY = "requests.count{model=m1}"
# What a user runs: nothing of the pipeline imported by hand, only the registry URI and a frame of recent windows.
USER = textwrap.dedent(
    """
    import json, sys
    import mlflow, pandas as pd
    model = mlflow.pyfunc.load_model(f"models:/{sys.argv[1]}@champion")
    df = pd.read_json(sys.argv[2], orient="split").astype({"value": "float64"})
    df["timestamp"] = pd.to_datetime(df["timestamp"], unit="ms")
    out = model.predict(df, params={"horizon": 9})
    print(json.dumps({"columns": list(out.columns), "timestamp": out["timestamp"].astype(str).tolist(),
                      **{c: out[c].tolist() for c in ("forecast", "lower", "upper")},
                      "signature": model.metadata.signature.to_dict()}))
    """
)


@pytest.mark.slow
def test_the_champion_loads_and_forecasts_in_a_fresh_process(tmp_path):
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.create_experiment("forecast_champions", artifact_location=(tmp_path / "art").as_uri())
    y = hourly(series(days=10))
    gru = small_rnn("gru", seeds=2).fit(y.to_numpy()[:-SEASON])  # weights, scaling and interval widths to carry
    register(client, exp, gru, y[:-SEASON], KEY, "2026-11-10", champion=True)
    recent = pd.DataFrame({"timestamp": y.index.tz_localize(None), "value": y.to_numpy()}).iloc[-3 * SEASON :]
    env = {**os.environ, "MLFLOW_TRACKING_URI": client.tracking_uri}
    done = subprocess.run(
        [sys.executable, "-c", USER, registered_name(KEY), recent.to_json(orient="split")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["columns"] == ["timestamp", "forecast", "lower", "upper"]
    assert out["timestamp"][0] == "2026-11-11 00:00:00" and len(out["timestamp"]) == 9  # the windows after the input
    expected = gru.predict(recent["value"].to_numpy(), 9)  # the in-process forecaster, from the same windows
    np.testing.assert_allclose(out["forecast"], expected.mean, rtol=1e-6)
    np.testing.assert_allclose(out["lower"], expected.lower, rtol=1e-6)
    np.testing.assert_allclose(out["upper"], expected.upper, rtol=1e-6)
    assert np.all(np.array(out["lower"]) < np.array(out["upper"]))
    inputs = json.loads(out["signature"]["inputs"])
    assert [(c["name"], c["type"]) for c in inputs] == [("timestamp", "datetime"), ("value", "double")]
    # The registered version is a LoggedModel of the run (the Models tab), with its input example.
    version = client.get_model_version_by_alias(registered_name(KEY), "champion")
    model_id = version.source.removeprefix("models:/")
    logged = client.get_logged_model(model_id)
    assert logged.source_run_id == version.run_id and logged.tags["series"] == KEY
    files = {a.path for a in client.list_logged_model_artifacts(model_id)}
    assert {"MLmodel", "input_example.json"} <= files


def test_the_pyfunc_model_answers_one_step_and_refuses_unknown_modes(tmp_path):
    import mlflow.pyfunc

    from monitor_pipeline.forecast.naive import SeasonalNaive
    from monitor_pipeline.tracking.registry import download_version

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.create_experiment("f", artifact_location=(tmp_path / "art").as_uri())
    y = hourly(series(days=3))
    naive = SeasonalNaive(SEASON).fit(y.to_numpy())
    register(client, exp, naive, y, KEY, "2026-11-03", champion=True)
    model = mlflow.pyfunc.load_model(str(download_version(client, registered_name(KEY), 1, tmp_path / "m")))
    df = pd.DataFrame({"timestamp": y.index.tz_localize(None), "value": y.to_numpy()})
    one = model.predict(df, params={"mode": "one_step"})
    np.testing.assert_array_equal(one["forecast"], naive.one_step(y.to_numpy(), SEASON).mean)
    assert len(model.predict(df)) == 6  # the horizon it was trained for, by default
    with pytest.raises(Exception, match="mode 'backcast'"):
        model.predict(df, params={"mode": "backcast"})
