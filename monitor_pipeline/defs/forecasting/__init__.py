"""Forecasting group: forecast_champions (backtest + champion), anomalies (residual scores), resource_forecast."""

import dagster as dg

from monitor_pipeline.defs.forecasting.anomalies import anomalies
from monitor_pipeline.defs.forecasting.forecast_champions import forecast_champions
from monitor_pipeline.defs.forecasting.jobs import (
    anomaly_job,
    automation_sensor,
    daily_forecast_retraining,
    forecasting_job,
)
from monitor_pipeline.defs.forecasting.resource_forecast import resource_forecast

defs = dg.Definitions(
    assets=[forecast_champions, anomalies, resource_forecast],
    asset_checks=[],  # each asset's checks are declared on it (check_specs)
    jobs=[forecasting_job, anomaly_job],
    schedules=[daily_forecast_retraining],
    sensors=[automation_sensor],
)
