"""Alerting: where the alert routing YAML is (its own models live with the alerts stage)."""

from __future__ import annotations

from pydantic import Field

from monitor_pipeline.settings.base import Strict


class AlertingConfig(Strict):
    """Alerts: routing, thresholds and noise control live in their own YAML (configs/alerts.yaml)."""

    config: str | None = Field(
        None,
        description="the alerts YAML; default: the project's configs/alerts.yaml "
        "(a relative path is taken from the project root)",
    )
