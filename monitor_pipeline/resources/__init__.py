"""Dagster resources: the warehouse (DuckDB or Spark) and, in later issues, MLflow, Slack and the target model."""
