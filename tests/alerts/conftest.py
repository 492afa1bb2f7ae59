"""Fixtures of the alert tests: a pipeline + alerts config in tmp_path, a controllable clock, the loopback Slack."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from slack_server import Clock, SlackServer

ALERTS = {
    "channels": {"alerts": {"slack_channel": "#t"}},
    "defaults": {"cooldown": "0s", "renotify": "0s", "resolve_quiet": "10m", "flap": {"changes": 50, "period": "1h"}},
    "delivery": {"max_attempts": 30, "backoff": "30s", "backoff_max": "5m", "timeout_s": 0.5},
}


@pytest.fixture
def alert_env(tmp_path: Path, write_config):
    """(pipeline config path, writer of configs/alerts.yaml)."""
    path = write_config([], alerting={"config": "configs/alerts.yaml"})

    def _alerts(**overrides) -> Path:
        data = {**ALERTS, **overrides}
        f = tmp_path / "configs" / "alerts.yaml"
        f.write_text(yaml.safe_dump(data))
        return f

    _alerts()
    return path, _alerts


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def slack(clock):
    server = SlackServer(clock=clock, hang_s=1.2).start()
    yield server
    server.stop()
