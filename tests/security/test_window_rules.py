"""Window rules (SQL set operations) on small handwritten frames."""

from __future__ import annotations

from frames import requests_frame


def _rule(kind: str, **params) -> dict:
    scope = params.pop("scope", "user")
    return {"id": f"t_{kind}", "kind": kind, "scope": scope, "params": params}


def test_request_rate_uses_a_sliding_window(scan):
    # Six requests at 8..13 s: at most 3 in any tumbling 10-s bucket, but 6 within one sliding 10-s window.
    burst = [{"user_id": "a", "t": t} for t in (8, 9, 10, 11, 12, 13)]
    calm = [{"user_id": "b", "t": t} for t in range(0, 120, 10)]
    res = scan(requests_frame(burst + calm), [_rule("request_rate", window_s=10, max_requests=5)])
    f = res.findings
    assert f["scope_value"].tolist() == ["a"]
    assert f["value"].iloc[0] == 6 and f["count"].iloc[0] == 1 and f["threshold"].iloc[0] == 5
    assert "peak 6 requests in 10 s" in f["evidence"].iloc[0]


def test_token_rate_and_scope_by_client_ip(scan):
    rows = [
        {"client_ip": "1.2.3.4", "user_id": f"u{i}", "input_tokens": 400, "output_tokens": 100, "t": i}
        for i in range(5)
    ]
    rows += [{"client_ip": "5.6.7.8", "input_tokens": 10, "t": i} for i in range(5)]
    res = scan(requests_frame(rows), [_rule("token_rate", window_s=60, max_tokens=2000, scope="client_ip")])
    assert res.findings["scope_value"].tolist() == ["1.2.3.4"] and res.findings["value"].iloc[0] == 2500


def test_burst_against_own_history_and_population(scan):
    # History: u1 and u2 send 2 requests every 5 minutes for 4 hours; today u1 sends 80 in one bucket.
    hist = requests_frame(
        [{"user_id": u, "t": -14400 + k * 300 + j} for u in ("u1", "u2") for k in range(48) for j in (0, 1)]
    )
    today = requests_frame(
        [{"user_id": "u1", "t": j} for j in range(80)]
        + [{"user_id": "u2", "t": 400 + j} for j in range(3)]
        + [{"user_id": "new", "t": 700 + j} for j in range(3)]
    )
    res = scan(today, [_rule("burst", bucket_s=300, z=6, min_requests=30, min_history=12)], history=hist)
    f = res.findings
    assert f["scope_value"].tolist() == ["u1"] and f["value"].iloc[0] > 6 and f["count"].iloc[0] == 80


def test_a_service_wide_surge_is_not_a_burst_of_every_user_but_an_abuser_in_it_is(scan):
    # History: 20 users send 2 requests every 5 minutes for 4 hours. Today the whole service is 30 times busier in
    # one bucket (every user sends 60), and "abuser" sends 1,500 in that same bucket.
    users = [f"u{i}" for i in range(20)]
    hist = requests_frame([{"user_id": u, "t": -14400 + k * 300 + j} for u in users for k in range(48) for j in (0, 1)])
    surge = [{"user_id": u, "t": j % 300} for u in users for j in range(60)]
    abuse = [{"user_id": "abuser", "t": j % 300} for j in range(1500)]
    rule = _rule("burst", bucket_s=300, z=15, min_requests=30, min_history=12)
    assert scan(requests_frame(surge + abuse), [rule], history=hist).findings["scope_value"].tolist() == ["abuser"]
    # The absolute reading (service_relative: false) pages for every user of the surge.
    absolute = _rule("burst", bucket_s=300, z=15, min_requests=30, min_history=12, service_relative=False)
    flagged = scan(requests_frame(surge + abuse), [absolute], history=hist).findings["scope_value"]
    assert sorted(flagged) == sorted([*users, "abuser"])


def test_concurrency_counts_requests_in_flight(scan):
    rows = [{"model": "m1", "t": i, "latency_ms": 10_000.0} for i in range(5)]  # 5 open at once at t=4
    rows += [{"model": "m2", "t": i * 20, "latency_ms": 1_000.0} for i in range(5)]
    res = scan(requests_frame(rows), [_rule("concurrency", max_in_flight=3, scope="model")])
    f = res.findings
    assert f["scope_value"].tolist() == ["m1"] and f["value"].iloc[0] == 5 and f["count"].iloc[0] == 2


def test_error_spike_flags_scanning_not_a_busy_client(scan):
    scanner = [{"client_ip": "9.9.9.9", "status": "error" if i < 30 else "ok", "t": i} for i in range(35)]
    busy = [{"client_ip": "8.8.8.8", "status": "error" if i < 30 else "ok", "t": i % 290} for i in range(300)]
    res = scan(
        requests_frame(scanner + busy),
        [_rule("error_spike", window_s=300, min_errors=20, min_error_rate=0.5, scope="client_ip")],
    )
    assert res.findings["scope_value"].tolist() == ["9.9.9.9"] and res.findings["count"].iloc[0] == 30


def test_oversized_is_per_request(scan):
    rows = [{"input_tokens": 50_000}, {"prompt": "x" * 5000}, {}]
    res = scan(requests_frame(rows), [_rule("oversized_input", max_input_tokens=32_000, max_prompt_chars=1000)])
    assert sorted(res.findings["request_id"]) == ["r0", "r1"]


def test_block_and_allow_lists_with_cidr_and_exempt(scan):
    rows = [
        {"client_ip": "192.0.2.7"},
        {"client_ip": "192.0.3.1"},
        {"client_ip": "not-an-ip"},
        {"model": "rogue"},
        {"model": "m2"},
    ]
    rules = [
        _rule("blocklist", values=["192.0.2.0/24", "not-an-ip"], scope="client_ip"),
        {**_rule("allowlist", values=["m1"], scope="model"), "exempt": ["m2"]},
    ]
    f = scan(requests_frame(rows), rules).findings
    assert sorted(f[f.kind == "blocklist"]["scope_value"]) == ["192.0.2.7", "not-an-ip"]
    assert f[f.kind == "allowlist"]["scope_value"].tolist() == ["rogue"]


def test_missing_user_ids_are_counted_not_grouped(scan):
    rows = [{"user_id": None, "t": i / 10} for i in range(50)] + [{"user_id": "", "prompt": ""}]
    res = scan(requests_frame(rows), [_rule("request_rate", window_s=10, max_requests=5)])
    assert res.findings.empty
    assert res.stats["missing"]["user_id"] == 50 and res.stats["empty_prompts"] == 1


def test_rule_on_absent_column_is_reported_as_skipped(scan):
    res = scan(requests_frame([{}]), [_rule("request_rate", window_s=10, max_requests=5, scope="api_key")])
    assert res.findings.empty and "api_key_id" in res.stats["skipped_rules"]["t_request_rate"]


def test_text_rules_on_a_table_without_completion(scan):
    frame = requests_frame([{"prompt": "mail a@example.com"}, {}]).drop(columns=["completion"])
    res = scan(frame, [{"id": "p", "kind": "pii"}, {"id": "i", "kind": "injection"}])
    assert res.findings["request_id"].tolist() == ["r0"]
