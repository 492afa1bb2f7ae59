"""Ingestion assets and checks."""
