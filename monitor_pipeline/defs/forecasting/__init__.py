"""Forecasting group: forecaster (backtest + champion), anomalies (residual scores), resource_forecast."""
