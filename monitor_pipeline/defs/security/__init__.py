"""Dagster wiring of the security control."""
