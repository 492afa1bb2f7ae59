"""Quality metrics: sklearn/scipy definitions, binary vs confidence ROC-AUC, chi-square with Cramér's V, no labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency

from monitor_pipeline.drift_quality.quality import (
    NoLabels,
    QualitySettings,
    chi_square,
    measure_quality,
    metrics,
    online_accuracy,
)


def _frame(n: int, acc: float, seed: int = 0, classes=("a", "b", "c")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(classes), n)
    ok = rng.random(n) < acc
    p = np.where(ok, y, (y + 1) % len(classes))
    return pd.DataFrame(
        {
            "timestamp": pd.Timestamp("2026-11-18", tz="UTC") + pd.to_timedelta(rng.integers(0, 86400, n), "s"),
            "model": rng.choice(["m1", "m2"], n),
            "label": np.array(classes)[y],
            "prediction": np.array(classes)[p],
            "score": np.where(ok, rng.beta(8, 2, n), rng.beta(2, 8, n)),
            "error_type": None,
        }
    )


def test_metrics_match_their_definitions():
    df = pd.DataFrame(
        {"label": ["a", "a", "b", "b"], "prediction": ["a", "b", "b", "b"], "score": [0.9, 0.4, 0.8, 0.7]}
    )
    m = metrics(df)
    assert m["accuracy"] == 0.75
    # precision a=1, b=2/3; recall a=1/2, b=1 -> macro 5/6 and 3/4
    assert m["precision"] == pytest.approx(5 / 6) and m["recall"] == pytest.approx(0.75)
    # binary: the score is P("b"); b rows score .8/.7, a rows .9/.4 -> AUC = 2/4
    assert m["roc_auc"] == pytest.approx(0.5)


def test_evaluate_per_model_and_window_with_report():
    result = measure_quality(_frame(3000, 0.9, seed=1), _frame(3000, 0.9, seed=2), QualitySettings())
    assert 0.87 < result.overall["accuracy"] < 0.93 and set(result.by_model) == {"m1", "m2"}
    assert result.roc_auc_kind == "confidence vs correct prediction" and result.overall["roc_auc"] > 0.9
    assert len(result.windows) == 48 and result.windows["rows"].sum() == 3000
    assert result.below_floor({"accuracy": 0.8}) == []
    assert [b["model"] for b in result.below_floor({"accuracy": 0.95})] == ["*", "m1", "m2"]
    assert [t.column for t in result.tests] == ["prediction", "error_type"] and not any(
        t.rejected for t in result.tests
    )


def test_chi_square_matches_scipy_and_gates_on_effect_size():
    ref = pd.Series(["x"] * 500 + ["y"] * 500)
    cur = pd.Series(["x"] * 700 + ["y"] * 300)
    t = chi_square(ref, cur, "prediction", alpha=0.01, min_v=0.05)
    chi2, p, _, _ = chi2_contingency(np.array([[500, 500], [700, 300]]), correction=False)
    assert t.chi2 == pytest.approx(chi2) and t.p_value == pytest.approx(p) and t.rejected
    assert t.cramers_v == pytest.approx(np.sqrt(chi2 / 2000))
    # A significant but negligible shift on a big sample is not a failure unless min_v is 0.
    big_ref, big_cur = pd.Series(["x"] * 500_000 + ["y"] * 500_000), pd.Series(["x"] * 503_000 + ["y"] * 497_000)
    assert (
        not chi_square(big_ref, big_cur, "c", 0.01, 0.05).rejected
        and chi_square(big_ref, big_cur, "c", 0.01, 0).rejected
    )
    assert chi_square(pd.Series([], dtype=object), cur, "c", 0.01, 0.05) is None


def test_no_labels_raises_a_clear_reason():
    df = _frame(100, 0.9).assign(label=None)
    with pytest.raises(NoLabels, match="0 of 100 rows carry both `label` and `prediction`"):
        measure_quality(df, df)


def test_online_accuracy_is_request_weighted_per_hour():
    ts = pd.to_datetime(["2026-11-18 00:00", "2026-11-18 00:01", "2026-11-18 01:00"], utc=True)
    df = pd.DataFrame({"timestamp": ts, "request_num": [90, 10, 5], "accuracy": [1.0, 0.0, 0.5]})
    out = online_accuracy(df, floor=0.8)
    assert out["windows"]["accuracy_mean"].round(3).tolist() == [0.9, 0.5]
    assert [b["window_start"][11:16] for b in out["below_floor"]] == ["01:00"]
