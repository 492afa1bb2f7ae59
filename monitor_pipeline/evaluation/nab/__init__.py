"""The Numenta Anomaly Benchmark harness: a scorer written to NAB's rules, a streaming detector, and the runner.

No Dagster here: `monitor-pipeline nab` (monitor_pipeline/cli/nab.py) drives it.
"""
