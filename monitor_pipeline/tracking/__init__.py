"""tracking: every MLflow call of the pipeline, without Dagster.

- `store`: where runs are kept (tracking URI, artifact root, UI link), a client bound to it, experiments.
- `runs`: the handle on one run (params, metrics, artifacts, tags, links) and the run opened for a Dagster asset,
  nested under the run of its Dagster run and tagged with its run id, job, asset key and partition.
- `registry`: the model registry of forecasters: every candidate logged as a pyfunc LoggedModel and registered,
  aliases `challenger` and `champion`, each day's champion found again by partition; `forecaster_model` is the pyfunc
  model (state from `forecast.persist`, frame contract from `forecast.frames`); `champion_cache` keeps champions for
  the live loop.
- `history`: earlier runs read back: a scalability target's champion and recent sweeps (and promotion), the previous
  run of a golden probe set.

No other module of the package imports `mlflow`. `resources/mlflow.py` is the
Dagster resource: it builds a `store.Store` from config and a `runs.AssetRef` from the Dagster context and delegates.
"""

import os

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
