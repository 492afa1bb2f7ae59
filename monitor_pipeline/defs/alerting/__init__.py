"""Alerting: sensors turning failed checks, findings, failed runs and silent sources into Slack messages."""
