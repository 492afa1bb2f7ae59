"""Forecasters behind one interface (seasonal naive, ARIMA/SARIMA, LSTM, GRU), metrics and a rolling-origin backtest.

No Dagster here: the `forecasting` asset group wires these.
"""
