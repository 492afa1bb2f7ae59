"""Pass-rate statistics: Wilson interval, and a one-sided two-proportion test against the previous run."""

from __future__ import annotations

from dataclasses import dataclass

# scipy.stats and statsmodels are imported where used: every Dagster run process imports this module (through the
# code location) and most never test a pass rate; the two cost ~0.8 s of CPU to import.


def wilson(passed: int, total: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval of a pass rate (statsmodels)."""
    if total == 0:
        return 0.0, 1.0
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(passed, total, alpha=alpha, method="wilson")
    return float(lo), float(hi)


@dataclass
class Comparison:
    """The current pass rate against the previous run's."""

    previous_rate: float
    current_rate: float
    z: float
    p_value: float  # one-sided: the current rate is lower
    chi2_p_value: float  # two-sided chi-square of the 2x2 table, for reference
    significant_drop: bool


def compare(passed: int, total: int, prev_passed: int, prev_total: int, alpha: float) -> Comparison:
    """Did the pass rate drop significantly since the previous run? (two-proportion z-test, one-sided)."""
    cur, prev = passed / total, prev_passed / prev_total
    if passed + prev_passed in (0, total + prev_total):
        # Both runs all-fail or all-pass: no variance, no evidence of a change.
        return Comparison(prev, cur, 0.0, 1.0, 1.0, False)
    from scipy.stats import chi2_contingency
    from statsmodels.stats.proportion import proportions_ztest

    z, p = proportions_ztest([passed, prev_passed], [total, prev_total], alternative="smaller")
    table = [[passed, total - passed], [prev_passed, prev_total - prev_passed]]
    chi_p = float(chi2_contingency(table, correction=False)[1])
    return Comparison(prev, cur, float(z), float(p), chi_p, bool(p < alpha and cur < prev))
