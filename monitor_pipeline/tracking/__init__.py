"""tracking: every MLflow call of the pipeline, without Dagster.

- `store`: where runs are kept (tracking URI, artifact root, UI link), a client bound to it, experiments.
- `runs`: the handle on one run (params, metrics, artifacts, tags, links) and the run opened for a Dagster asset,
  nested under the run of its Dagster run and tagged with its run id, job, asset key and partition.
- `registry`: the model registry of forecasters: a champion logged in its flavour, registered, aliased `champion`,
  loaded back by partition.
- `history`: earlier runs read back: a scalability target's champion and recent sweeps (and promotion), the previous
  run of a golden probe set.

The one other module that imports `mlflow` is `forecast/persist.py`, the MLflow flavour (pytorch, statsmodels, pyfunc)
in which a forecaster is saved and loaded; `registry` logs and loads models through it. `resources/mlflow.py` is the
Dagster resource: it builds a `store.Store` from config and a `runs.AssetRef` from the Dagster context and delegates.
"""

import os

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
