"""The code a forecaster's pyfunc model is logged from (MLflow "models from code": no pickled Python object).

MLflow copies this file into the logged model and runs it on load; it names the model class, which comes from the
installed package.
"""

import mlflow.models

from monitor_pipeline.tracking.forecaster_model import ForecasterModel

mlflow.models.set_model(ForecasterModel())
