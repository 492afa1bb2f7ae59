"""Thin Dagster wiring of the domain code in monitor_pipeline.lib."""
