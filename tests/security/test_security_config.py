"""configs/rules.yaml: the shipped file loads; bad rules fail with the file, the rule id, the key and allowed values."""

from __future__ import annotations

import pytest

from monitor_pipeline.errors import ConfigError
from monitor_pipeline.security.config import load_rules, parse_rules
from monitor_pipeline.settings import PROJECT_ROOT


def test_shipped_rules_load_and_cover_every_kind():
    rules = load_rules(PROJECT_ROOT / "configs" / "rules.yaml")
    kinds = {r.kind for r in rules}
    assert kinds == {
        "request_rate",
        "token_rate",
        "burst",
        "concurrency",
        "error_spike",
        "oversized_input",
        "blocklist",
        "allowlist",
        "injection",
        "pii",
        "secret",
        "injection_model",
    }
    assert {r.scope for r in rules} >= {"user", "client_ip", "model"}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            {"id": "r1", "kind": "request_rate", "params": {"window_s": -1, "max_requests": 3}},
            "rules.yaml: rule `r1`: key `params.window_s`: Input should be greater than 0 (got -1)",
        ),
        ({"id": "r2", "kind": "ratelimit"}, "rule `r2`: key `kind`: Input tag 'ratelimit'"),
        (
            {"id": "r3", "kind": "pii", "scope": "usr"},
            "key `scope`: Input should be 'user', 'api_key', 'client_ip' or 'model'",
        ),
        ({"id": "r4", "kind": "pii", "params": {"types": ["mail"]}}, "key `params.types.0`: Input should be 'email'"),
        ({"id": "r5", "kind": "burst", "thresold": 3}, "rule `r5`: unknown key `thresold`"),
        ({"id": "r6", "kind": "oversized_input", "params": {}}, "rule `r6`: key `params`: set max_input_tokens"),
        (
            {"id": "r7", "kind": "blocklist", "scope": "client_ip", "params": {"values": ["10.0.0.0/33"]}},
            "is not an IPv4 CIDR block",
        ),
        (
            {"id": "r8", "kind": "blocklist", "scope": "user", "params": {"values": ["10.0.0.0/8"]}},
            "CIDR blocks only work with scope client_ip",
        ),
        ({"kind": "pii", "severity": "loud"}, "rules[0]: key `id`: Field required"),
    ],
)
def test_bad_rules_name_file_rule_and_key(rule, expected):
    with pytest.raises(ConfigError) as exc:
        parse_rules({"rules": [rule]}, "rules.yaml")
    assert expected in str(exc.value)


def test_duplicate_ids_and_bad_top_level(tmp_path):
    with pytest.raises(ConfigError, match="'a' is repeated"):
        parse_rules({"rules": [{"id": "a", "kind": "pii"}, {"id": "a", "kind": "secret"}]}, "f.yaml")
    with pytest.raises(ConfigError, match="mapping with a `rules:` list"):
        parse_rules(["x"], "f.yaml")
    bad = tmp_path / "rules.yaml"
    bad.write_text("rules: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_rules(bad)
    with pytest.raises(ConfigError, match="rules file not found"):
        load_rules(tmp_path / "missing.yaml")
