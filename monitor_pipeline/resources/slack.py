"""The Slack side of alerting as a Dagster resource: the outbox, the alerts config and the channels' transports.

Secrets are never fields and never read at import: each channel in configs/alerts.yaml names the env vars holding its
webhook URL (`webhook_env`, default SLACK_WEBHOOK_URL) or bot token (`token_env`, default SLACK_BOT_TOKEN); they are
read when a delivery pass starts, so setting them needs no code change and the Dagster UI never shows them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
from pydantic import Field

from monitor_pipeline.alerts.config import AlertsConfig
from monitor_pipeline.alerts.cycle import alerts_config, transports
from monitor_pipeline.alerts.deliver import DeliveryReport, deliver, utcnow
from monitor_pipeline.alerts.outbox import Outbox
from monitor_pipeline.alerts.slack import Transport
from monitor_pipeline.settings import PipelineConfig, shared_config
from monitor_pipeline.settings.cache import load_once


class SlackAlertsResource(dg.ConfigurableResource):
    """Delivers the alert outbox: Slack incoming webhook, Slack Web API (dagster-slack), or a local JSONL file."""

    config_path: str | None = Field(None, description="pipeline YAML (default MONITOR_CONFIG or configs/pipeline.yaml)")
    data_dir: str | None = Field(None, description="overrides the config's data_dir (tests)")
    console: bool = Field(True, description="also print locally delivered alerts on stdout")

    def settings(self) -> PipelineConfig:
        """The pipeline config (loaded once per process, shared), with this resource's data dir."""
        cfg = shared_config(self.config_path)
        return cfg.model_copy(update={"data_dir": str(Path(self.data_dir).resolve())}) if self.data_dir else cfg

    def alerts(self) -> AlertsConfig:
        """configs/alerts.yaml (or the pipeline config's `alerting.config`), validated; loaded once per process."""
        cfg = self.settings()
        return load_once(("alerts", cfg.alerting.config, cfg.root), lambda: alerts_config(cfg))

    def outbox(self) -> Outbox:
        """The outbox under the data dir."""
        return Outbox.in_data_dir(self.settings().data_path())

    def now(self) -> dt.datetime:
        """The clock of evaluations and delivery."""
        return utcnow()

    def transports(self) -> dict[str, Transport]:
        """Each channel's transport, from the env vars named in alerts.yaml (read now, not at import)."""
        return transports(self.alerts(), self.settings().data_path(), console=print if self.console else None)

    def deliver(self) -> DeliveryReport:
        """One delivery pass over the due entries; failures stay in the outbox for the next pass."""
        return deliver(self.outbox(), self.transports(), self.alerts().delivery, self.now)
