"""Comparison with the champion run: drops judged against measured noise, a shrinking SLO-safe batch, bad sweeps."""

from __future__ import annotations

import pytest

from monitor_pipeline.scalability.compare import compare, flatten, noise, unflatten
from monitor_pipeline.settings import ScalabilityConfig

CFG = ScalabilityConfig(noise_z=3.0, min_drop=0.05, slo_shrink_tolerance=0.1)


def _summary(tp: float, se: float = 0.01, slo: int | None = 64, ref: int = 32) -> dict:
    return {
        "minilm_inference": {
            "role": "serving",
            "points_ok": 9,
            "reference_x": ref,
            "reference_series": 64,
            "throughput_ref": tp,
            "throughput_ref_rel_se": se,
            "slo_safe": slo,
        }
    }


def _rules(regs) -> dict[str, str]:
    return {r.rule: r.severity for r in regs}


def test_drop_within_noise_is_not_a_regression():
    regs, notes = compare(_summary(97.0), _summary(100.0), {}, CFG)
    assert regs == [] and notes["minilm_inference"]["throughput_drop"] == pytest.approx(0.03)
    assert notes["minilm_inference"]["drop_threshold"] == pytest.approx(0.05)  # the min_drop floor


def test_drop_beyond_noise_alerts_and_noisy_repetitions_raise_the_bar():
    regs, notes = compare(_summary(80.0), _summary(100.0), {}, CFG)
    assert _rules(regs) == {"scalability.throughput_drop": "critical"}  # 20% > 2 × 5%
    r = regs[0]
    assert r.value == 80.0 and r.expected == 100.0 and r.detail["drop"] == pytest.approx(0.2)
    # the same drop measured with 6% repetition noise on each side: threshold 3 × √2 × 6% ≈ 25%
    regs, notes = compare(_summary(80.0, se=0.06), _summary(100.0, se=0.06), {}, CFG)
    assert regs == [] and notes["minilm_inference"]["within_run"] == pytest.approx(0.0849, abs=1e-3)


def test_run_to_run_spread_of_history_is_noise_too():
    history = {"minilm_inference": [100.0, 90.0, 110.0, 95.0, 105.0]}  # ±7.9% sd across runs
    n = noise(_summary(80.0)["minilm_inference"], _summary(100.0)["minilm_inference"], history["minilm_inference"])
    assert n["across_runs"] == pytest.approx(2**0.5 * 0.0791, rel=0.01) and n["noise"] == n["across_runs"]
    regs, _ = compare(_summary(80.0), _summary(100.0), history, CFG)
    assert regs == []  # 20% < 3 × 11%: this machine's runs scatter that much
    regs, _ = compare(_summary(50.0), _summary(100.0), history, CFG)
    assert _rules(regs) == {"scalability.throughput_drop": "warning"}
    assert noise({}, {}, [100.0, 100.0])["across_runs"] is None  # fewer than 3 runs: not an estimate


@pytest.mark.parametrize(("now", "rule"), [(60, None), (32, "warning"), (None, "critical")])
def test_slo_safe_batch_shrinking(now, rule):
    regs, notes = compare(_summary(100.0, slo=now), _summary(100.0, slo=64), {}, CFG)
    got = _rules(regs).get("scalability.slo_safe_shrink")
    assert got == rule
    if now is None:  # an SLO that no batch meets is also its own finding
        assert "scalability.slo_unmet" in _rules(regs)


def test_not_comparable_without_champion_or_with_other_reference():
    regs, notes = compare(_summary(10.0), None, {}, CFG)
    assert regs == [] and notes["minilm_inference"] == {
        "compared": False,
        "reason": "no champion run of this target yet",
    }
    regs, notes = compare(_summary(10.0, ref=16), _summary(100.0), {}, CFG)
    assert (
        "scalability.throughput_drop" not in _rules(regs)
        and "not comparable" in notes["minilm_inference"]["throughput"]
    )


def test_incomplete_sweep_is_a_finding():
    regs, _ = compare({}, None, {}, CFG, errors=["endpoint concurrency=4: TargetError: HTTP 500"])
    assert _rules(regs) == {"scalability.sweep_incomplete": "warning"} and "HTTP 500" in regs[0].title


def test_summary_metrics_round_trip():
    s = _summary(123.0) | {"lstm_training": {"throughput_ref": 5.0, "knee": None, "role": "training"}}
    flat = flatten(s)
    assert flat["minilm_inference.throughput_ref"] == 123.0 and "lstm_training.knee" not in flat
    assert "minilm_inference.role" not in flat
    back = unflatten(flat | {"minilm_inference.r2.throughput": 0.9})
    assert back["minilm_inference"]["slo_safe"] == 64 and back["lstm_training"] == {"throughput_ref": 5.0}
