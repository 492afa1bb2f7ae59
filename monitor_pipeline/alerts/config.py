"""configs/alerts.yaml: routing, thresholds (with hysteresis), cooldown, re-notify and flap suppression per rule."""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from monitor_pipeline.errors import ConfigError
from monitor_pipeline.settings.files import read_config, validation_message

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(v: object) -> object:
    """`90s`, `30m`, `4h`, `1d` or a number of seconds."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return dt.timedelta(seconds=v)
    if isinstance(v, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", v)
        if not m:
            raise ValueError(f"not a duration: {v!r}; write e.g. 90s, 30m, 4h, 1d")
        return dt.timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])
    return v


Duration = Annotated[dt.timedelta, BeforeValidator(_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FlapConfig(_Strict):
    """Flap suppression: `changes` state changes within `period` send one "flapping" message, then quiet until stable."""

    changes: int = Field(4, ge=2, description="state changes (firing<->resolved) that make a key flapping")
    period: Duration = Field(
        dt.timedelta(hours=1), description="window the changes are counted in; stable = none for this long"
    )


class Policy(_Strict):
    """Settings of one alert rule; unset fields fall back to `defaults`."""

    channels: list[str] | None = Field(None, description="channel names (see `channels`) the alert goes to")
    fire_threshold: float | None = Field(None, description="value at which the alert fires (with `direction`)")
    resolve_threshold: float | None = Field(None, description="value past which a firing alert resolves (hysteresis)")
    direction: Literal["above", "below"] | None = Field(
        None, description="fire when the value is above/below the threshold"
    )
    fire_after: int | None = Field(
        None, ge=1, description="bad observations (none resolved in between) before it fires"
    )
    resolve_after: int | None = Field(None, ge=1, description="consecutive good observations before it resolves")
    resolve_quiet: Duration | None = Field(
        None,
        description="resolve when no bad observation came for this long "
        "(for sources that only report bad rows: findings)",
    )
    cooldown: Duration | None = Field(None, description="no second notification of a key within this long")
    renotify: Duration | None = Field(None, description="remind while still firing every this long (0: never)")
    flap: FlapConfig | None = None
    notify_resolved: bool | None = Field(None, description="send the one `resolved` message")
    mute: bool | None = Field(None, description="track state but send nothing")
    group: str | None = Field(
        None,
        description="alert key <group>:<entity> instead of <rule>:<entity>: findings of "
        "several rules about one entity make one alert (match the group too)",
    )

    @model_validator(mode="after")
    def _hysteresis(self) -> Policy:
        f, r = self.fire_threshold, self.resolve_threshold
        if (f is None) != (r is None):
            raise ValueError("fire_threshold and resolve_threshold go together (hysteresis needs both)")
        if f is not None and r is not None:
            below = self.direction == "below"
            if (r > f) if not below else (r < f):
                raise ValueError(
                    f"resolve_threshold {r} must be on the good side of fire_threshold {f} "
                    f"(direction {self.direction or 'above'})"
                )
        return self


class Rule(Policy):
    """A policy for the alert rules matching `match` (fnmatch on the rule name) and, optionally, `severity`."""

    match: str = Field(description="rule name pattern, e.g. anomaly.*, check.*, security.rate_limit")
    severity: list[Literal["info", "warning", "critical"]] | None = Field(None, description="only these severities")


class Resolved(_Strict):
    """The effective policy of one rule and severity (defaults merged in)."""

    channels: list[str]
    fire_threshold: float | None
    resolve_threshold: float | None
    direction: Literal["above", "below"]
    fire_after: int
    resolve_after: int
    resolve_quiet: dt.timedelta | None
    cooldown: dt.timedelta
    renotify: dt.timedelta
    flap: FlapConfig
    notify_resolved: bool
    mute: bool
    group: str | None


Kind = Literal["firing", "renotify", "escalated", "flapping", "resolved"]


class Channel(_Strict):
    """Where a channel's messages go: the Web API with `token_env` (threads), else a webhook from `webhook_env`
    (cannot thread), else the local file."""

    slack_channel: str | None = Field(
        None,
        description="Slack channel for the Web API: an ID (C0123ABC) or a name the bot was invited to (#llm-alerts)",
    )
    webhook_env: str = Field("SLACK_WEBHOOK_URL", description="env var with this channel's incoming-webhook URL")
    token_env: str = Field(
        "SLACK_BOT_TOKEN", description="env var with a bot token (xoxb-..., scope chat:write); preferred over a webhook"
    )
    reply_broadcast: list[Kind] = Field(
        default_factory=lambda: list[Kind](["escalated", "resolved"]),
        description="thread replies of these kinds are also shown in the channel (Slack's reply_broadcast)",
    )


class Delivery(_Strict):
    """Retries of the outbox."""

    max_attempts: int = Field(8, ge=1, description="failed sends before an entry becomes dead-letter")
    backoff: Duration = Field(dt.timedelta(seconds=30), description="first retry delay; doubles each attempt")
    backoff_max: Duration = Field(dt.timedelta(hours=1), description="cap of the retry delay")
    timeout_s: float = Field(10.0, gt=0, description="HTTP timeout of one send")
    batch: int = Field(100, ge=1, description="entries sent per delivery pass")
    inline_retry_max_s: float = Field(
        5.0,
        ge=0,
        description="a Slack 429 asking to wait at most this long is retried within the send (slack_sdk's handler); "
        "a longer Retry-After pauses the channel in the outbox instead of blocking the sensor",
    )


class NoData(_Strict):
    """The no-data sensor."""

    max_silence: Duration = Field(dt.timedelta(hours=2), description="alert when no source file changed for this long")
    severity: Literal["info", "warning", "critical"] = "critical"


class AlertsConfig(_Strict):
    """configs/alerts.yaml."""

    defaults: Policy = Policy()
    channels: dict[str, Channel] = Field(default_factory=lambda: {"alerts": Channel()})
    rules: list[Rule] = Field(default_factory=list)
    delivery: Delivery = Delivery()
    no_data: NoData = NoData()
    dagster_url: str = Field("http://127.0.0.1:3000", description="Dagster UI base URL for run links in messages")
    mlflow_url: str | None = Field(
        None,
        description="MLflow UI base URL: links a message to its MLflow run when the producer gave the run and "
        "experiment ids (detail.mlflow_run_id, detail.mlflow_experiment_id) but no URL",
    )

    @model_validator(mode="after")
    def _channels_exist(self) -> AlertsConfig:
        for i, p in [("defaults", self.defaults), *((f"rules.{i}", r) for i, r in enumerate(self.rules))]:
            for c in p.channels or []:
                if c not in self.channels:
                    raise ValueError(
                        f"{i}.channels: unknown channel {c!r}; declared: {', '.join(sorted(self.channels))}"
                    )
        return self

    def policy(self, rule: str, severity: str) -> Resolved:
        """The effective policy of an alert rule at a severity: the first matching rule over the defaults."""
        base = {
            "channels": [next(iter(self.channels))],
            "direction": "above",
            "fire_after": 1,
            "resolve_after": 1,
            "cooldown": dt.timedelta(minutes=30),
            "renotify": dt.timedelta(hours=4),
            "flap": FlapConfig(),
            "notify_resolved": True,
            "mute": False,
            "fire_threshold": None,
            "resolve_threshold": None,
            "resolve_quiet": None,
            "group": None,
        }
        base.update(self.defaults.model_dump(exclude_none=True, exclude={"flap"}))
        if self.defaults.flap:
            base["flap"] = self.defaults.flap
        for r in self.rules:
            if fnmatch.fnmatchcase(rule, r.match) and (r.severity is None or severity in r.severity):
                base.update(r.model_dump(exclude_none=True, exclude={"match", "severity", "flap"}))
                if r.flap:
                    base["flap"] = r.flap
                break
        return Resolved(**base)


def load_alerts_config(path: str | Path) -> AlertsConfig:
    """Read and validate an alerts YAML (with the file it `extends`, if any); errors name the file and key."""
    file = Path(path)
    source = read_config(file, "alerts config not found (create it or set alerting.config in pipeline.yaml)")
    try:
        return AlertsConfig(**source.data)
    except ValidationError as exc:
        raise ConfigError(validation_message(source, exc)) from None
