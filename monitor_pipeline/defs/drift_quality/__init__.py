"""Drift and quality monitoring assets."""
