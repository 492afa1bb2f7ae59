"""Forecasters behind one interface (seasonal naive, ARIMA/SARIMA, LSTM, GRU), metrics and a rolling-origin backtest.

Entry points: `champions.select_champions` (backtest every model per series, pick the champion), `scoring.score_day`
(a day's windows scored against the champions, events and findings) and `capacity.forecast_capacity` (GPU time to
threshold). No Dagster here: the `forecasting` asset group wires these.
"""
