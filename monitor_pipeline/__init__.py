"""monitor_pipeline: production monitoring for LLM services, wired as one Dagster code location."""

__version__ = "0.1.0"
