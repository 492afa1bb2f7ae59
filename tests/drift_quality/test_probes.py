"""Golden probes: set files validated by line and field, scorers, Wilson/two-proportion stats, the HTTP target."""

from __future__ import annotations

import json
import re
import time

import pytest
from scipy.stats import norm

from monitor_pipeline.drift_quality.probes.endpoints import OpenAITarget, TargetUnavailable
from monitor_pipeline.drift_quality.probes.runner import run_probes
from monitor_pipeline.drift_quality.probes.scorers import first_number, label_of, score
from monitor_pipeline.drift_quality.probes.sets import Probe, ProbeSetError, load_probe_set
from monitor_pipeline.drift_quality.probes.stats import compare, wilson
from tests.openai_server import free_port, openai_server
from tests.paths import ROOT

GOLDEN = ROOT / "assets" / "golden"
KEY = "sk-test-0123456789abcdefSECRET"


def test_embedded_golden_sets_are_valid_and_big_enough():
    s = load_probe_set(GOLDEN, "support_intents")
    assert s.version == "v1" and len(s.probes) >= 100 and len(s.labels) >= 5
    assert {p.expected for p in s.probes} == set(s.labels)
    smoke = load_probe_set(GOLDEN, "service_smoke@v1")
    assert {p.scorer for p in smoke.probes} == {"exact", "regex", "numeric", "label", "similarity"}


@pytest.mark.parametrize(
    "line, where",
    [
        ('{"id": "a", "input": "x", "scorer": "exact"}', ":2: field 'expected': missing"),
        ('{"id": "b", "input": "x", "expected": "y", "scorer": "fuzzy"}', ":2: field 'scorer': 'fuzzy' is not one of"),
        (
            '{"id": "b", "input": "x", "expected": "y", "scorer": "numeric"}',
            ":2: field 'expected': a numeric probe needs",
        ),
        ('{"id": "b", "input": "x", "expected": "(", "scorer": "regex"}', ":2: field 'expected': not a valid regular"),
        ('{"id": "b", "input": "x", "expected": "y", "scorer": "exact"', ":2: not valid JSON"),
        ('{"id": "a", "input": "x", "expected": "y", "scorer": "exact"}', ":2: field 'id': duplicate id 'a'"),
    ],
)
def test_bad_probe_lines_name_file_line_and_field(tmp_path, line, where):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "v1.jsonl").write_text('{"id": "a", "input": "x", "expected": "y", "scorer": "exact"}\n' + line + "\n")
    with pytest.raises(ProbeSetError) as exc:
        load_probe_set(tmp_path, "s")
    assert str(folder / "v1.jsonl") + where in str(exc.value)


def test_latest_version_is_picked_numerically(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    for v in ("v2", "v10", "v9"):
        (folder / f"{v}.jsonl").write_text(
            json.dumps({"id": v, "input": "x", "expected": "y", "scorer": "exact"}) + "\n"
        )
    assert load_probe_set(tmp_path, "s").version == "v10"
    with pytest.raises(ProbeSetError, match="no version v3"):
        load_probe_set(tmp_path, "s@v3")


def test_scorers():
    p = Probe("1", "q", 51, "numeric", 1, tolerance=0)
    assert (
        score(p, "The answer is 51.", [], 0.8)[0]
        and not score(p, "52", [], 0.8)[0]
        and not score(p, "none", [], 0.8)[0]
    )
    assert first_number("about 1,234.5 units") == 1234.5
    assert score(Probe("2", "q", "Paris", "exact", 1), ' "paris." ', [], 0.8)[0]
    assert score(Probe("3", "q", r"\b2024-03-05\b", "regex", 1), "It is 2024-03-05.", [], 0.8)[0]
    assert label_of("The intent is: password_reset", ["billing", "password_reset"]) == "password_reset"
    assert score(Probe("4", "q", "billing", "label", 1), "Billing", ["billing", "refund"], 0.8)[0]
    assert score(Probe("5", "q", "x", "similarity", 1, threshold=0.6), "y", [], 0.8, similarity=0.7) == (True, 0.7)
    assert not score(Probe("5", "q", "x", "similarity", 1), "y", [], 0.8, similarity=0.7)[0]


def test_wilson_interval_matches_the_formula():
    lo, hi = wilson(91, 108)
    p, n, z = 91 / 108, 108, norm.ppf(0.975)
    centre, half = (
        (p + z * z / (2 * n)) / (1 + z * z / n),
        z / (1 + z * z / n) * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5,
    )
    assert lo == pytest.approx(centre - half) and hi == pytest.approx(centre + half)


def test_two_proportion_test_flags_only_significant_drops():
    assert compare(60, 108, 95, 108, alpha=0.05).significant_drop  # 88% -> 56%
    assert not compare(90, 108, 93, 108, alpha=0.05).significant_drop  # within noise
    assert not compare(100, 108, 90, 108, alpha=0.05).significant_drop  # an improvement
    assert not compare(108, 108, 108, 108, alpha=0.05).significant_drop


def _answers(prompt: str) -> str:
    """A perfect chat model for the smoke set."""
    table = {
        "17 multiplied": "51",
        "2.5 kilometres": "2500 m",
        "square root": "1.414",
        "single word OK": "OK",
        "capital of France": "Paris.",
        "ISO 8601": "2024-03-05",
        "email address": "jane@example.com",
        "JSON object": '{"status": "ok"}',
        "log in": "password_reset",
        "delivery of my order": "My package did not arrive on time.",
        "refund mean": "A refund is money given back to a customer for a purchase.",
        "leap year": "366",
    }
    return next(v for k, v in table.items() if k in prompt)


def test_openai_target_scores_every_scorer_with_bounded_concurrency():
    smoke = load_probe_set(GOLDEN, "service_smoke")
    with openai_server(_answers, api_key=KEY) as srv:
        run = run_probes(smoke, OpenAITarget(srv["base_url"], "m", KEY, concurrency=3), min_similarity=0.8)
    assert run.passed == run.total == 12, run.results[~run.results.passed].to_dict("records")
    assert srv["max_in_flight"] <= 3 and srv["auth"] == {f"Bearer {KEY}"}
    assert run.results.loc[run.results.scorer == "similarity", "score"].min() > 0.6


def test_openai_target_retries_transient_errors():
    calls: dict[str, int] = {}

    def flaky(prompt: str) -> str | int:
        calls[prompt] = calls.get(prompt, 0) + 1
        return 503 if calls[prompt] == 1 else _answers(prompt)

    with openai_server(flaky) as srv:
        run = run_probes(load_probe_set(GOLDEN, "service_smoke"), OpenAITarget(srv["base_url"], "m", backoff_s=0.01))
    assert run.passed == 12 and srv["requests"] == 24


def test_target_down_fails_fast_with_the_url_and_never_the_key():
    url = f"http://127.0.0.1:{free_port()}/v1"
    t = time.perf_counter()
    with pytest.raises(TargetUnavailable) as exc:
        OpenAITarget(url, "m", KEY, retries=2, backoff_s=0.01).answer(load_probe_set(GOLDEN, "support_intents"))
    msg = str(exc.value)
    assert msg.startswith(f"probe target {url}/chat/completions failed: ") and "ConnectError" in msg
    assert KEY not in msg and re.search(r"\d+ of 108 probes unanswered", msg)
    assert time.perf_counter() - t < 30  # it stops sending once the target is known to be down


def test_wrong_key_is_one_clear_error_without_the_key():
    with openai_server(_answers, api_key="the-right-key") as srv, pytest.raises(TargetUnavailable) as exc:
        OpenAITarget(srv["base_url"], "m", KEY).answer(load_probe_set(GOLDEN, "service_smoke"))
    assert "HTTP 401" in str(exc.value) and KEY not in str(exc.value) and srv["requests"] < 12
