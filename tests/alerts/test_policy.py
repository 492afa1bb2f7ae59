"""The key state machine: fire, dedup in cooldown, hysteresis, re-notify, flapping, exactly one resolved."""

from __future__ import annotations

import datetime as dt

import pytest

from monitor_pipeline.alerts.config import AlertsConfig
from monitor_pipeline.alerts.model import Observation
from monitor_pipeline.alerts.policy import KeyState, apply, sweep

T0 = dt.datetime(2026, 11, 18, tzinfo=dt.UTC)


def _cfg(**rule) -> AlertsConfig:
    base = {"cooldown": "30m", "renotify": "4h", "resolve_quiet": "1h", "flap": {"changes": 4, "period": "2h"}}
    return AlertsConfig(defaults=base, rules=[{"match": "r.*", **rule}] if rule else [])


def _obs(minutes: float, bad: bool = True, value: float | None = None, severity: str = "warning") -> Observation:
    return Observation(
        rule="r.x",
        entity="e",
        severity=severity,
        bad=bad,
        at=T0 + dt.timedelta(minutes=minutes),
        title="x",
        value=value,
    )


def _run(cfg: AlertsConfig, observations, state: KeyState | None = None) -> tuple[list[str], KeyState]:
    st = state or KeyState(key="r.x:e", rule="r.x", entity="e")
    kinds = []
    for o in observations:
        kinds += [a.kind for a in apply(st, o, cfg.policy(o.rule, o.severity))]
    return kinds, st


def test_fires_once_and_dedups_repeated_bad_observations():
    kinds, st = _run(_cfg(), [_obs(m) for m in range(0, 60, 5)])
    assert kinds == ["firing"] and st.status == "firing"


def test_resolves_exactly_once_on_a_good_observation():
    kinds, _ = _run(_cfg(), [_obs(0), _obs(5), _obs(10, bad=False), _obs(15, bad=False)])
    assert kinds == ["firing", "resolved"]


def test_quiet_period_resolves_finding_alerts_once():
    cfg = _cfg()
    kinds, st = _run(cfg, [_obs(0), _obs(10)])
    got = sweep(st, T0 + dt.timedelta(hours=3), cfg.policy("r.x", "warning"))
    assert kinds == ["firing"] and [a.kind for a in got] == ["resolved"]
    assert got[0].at == T0 + dt.timedelta(minutes=70)  # last bad + quiet: a repeatable time (idempotency)
    assert sweep(st, T0 + dt.timedelta(hours=5), cfg.policy("r.x", "warning")) == []


def test_fire_after_needs_two_bad_observations_within_the_quiet_period():
    cfg = _cfg(fire_after=2)
    kinds, _ = _run(cfg, [_obs(0), _obs(120), _obs(240)])  # isolated blips, an hour+ apart
    assert kinds == []
    kinds, _ = _run(cfg, [_obs(0), _obs(5)])
    assert kinds == ["firing"]


def test_hysteresis_between_fire_and_resolve_thresholds():
    cfg = _cfg(fire_threshold=0.25, resolve_threshold=0.15, resolve_quiet="7d", renotify="0s")
    values = [0.2, 0.3, 0.2, 0.18, 0.26, 0.14, 0.2]  # 0.2 between the thresholds: holds the state
    kinds, st = _run(cfg, [_obs(i * 60 * 24, bad=v > 0.25, value=v) for i, v in enumerate(values)])
    assert kinds == ["firing", "resolved"] and st.status == "ok"


def test_renotify_while_still_firing_and_escalation():
    kinds, _ = _run(_cfg(), [_obs(m) for m in range(0, 9 * 60, 10)] + [_obs(9 * 60 + 5, severity="critical")])
    assert kinds == ["firing", "renotify", "renotify", "escalated"]


def test_cooldown_holds_back_a_refire_until_it_has_passed():
    kinds, _ = _run(_cfg(), [_obs(0), _obs(5, bad=False), _obs(10), _obs(20), _obs(45)])
    # fire, resolve, re-fire at 10 min held by the 30-min cooldown, sent by the bad observation at 45 min
    assert kinds == ["firing", "resolved", "firing"]


def test_flapping_sends_one_message_then_quiet_until_stable():
    cfg = _cfg(cooldown="0s")
    flips = [_obs(m, bad=(i % 2 == 0)) for i, m in enumerate(range(0, 100, 5))]  # 20 changes in 100 minutes
    kinds, st = _run(cfg, flips)
    assert kinds == ["firing", "resolved", "firing", "flapping"]
    assert st.flapping
    later = sweep(st, T0 + dt.timedelta(hours=5), cfg.policy("r.x", "warning"))
    assert [a.kind for a in later] == ["resolved"] and not st.flapping


def test_state_round_trips_through_json():
    _, st = _run(_cfg(), [_obs(0), _obs(5)])
    assert KeyState.from_json(st.to_json()) == st


@pytest.mark.parametrize(
    "bad",
    [
        {"rules": [{"match": "x", "fire_threshold": 1}]},
        {"rules": [{"match": "x", "fire_threshold": 1, "resolve_threshold": 2}]},
        {"rules": [{"match": "x", "channels": ["nope"]}]},
        {"defaults": {"cooldown": "5 minutes"}},
    ],
)
def test_config_errors_name_file_and_key(tmp_path, bad):
    import yaml

    from monitor_pipeline.alerts.config import load_alerts_config
    from monitor_pipeline.errors import ConfigError

    f = tmp_path / "alerts.yaml"
    f.write_text(yaml.safe_dump(bad))
    with pytest.raises(ConfigError) as err:
        load_alerts_config(f)
    assert str(f) in str(err.value) and "key `" in str(err.value)


def test_shipped_config_loads():
    from paths import ROOT

    from monitor_pipeline.alerts.config import load_alerts_config

    cfg = load_alerts_config(ROOT / "configs" / "alerts.yaml")
    assert cfg.policy("security.rate_limit", "critical").channels == ["security"]
    assert cfg.policy("security", "critical").group == "security"
    assert cfg.policy("anomaly", "warning").resolve_quiet.total_seconds() == 7200
    assert cfg.policy("check.no_critical_anomalies", "warning").mute
