"""The NAB harness: the scorer on hand-computed cases and against NAB's published figures, the detector, the CLI."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest

from monitor_pipeline.cli import main
from monitor_pipeline.evaluation.nab import corpus, runner
from monitor_pipeline.evaluation.nab.detector import DetectorParams, anomaly_scores, features, new_words
from monitor_pipeline.evaluation.nab.scorer import (
    CostMatrix,
    normalise,
    null_score,
    perfect_score,
    probation_length,
    scaled_sigmoid,
    score_file,
    sweep_corpus,
    sweep_file,
)
from tests.paths import SHARED_DATA

NAB = SHARED_DATA / "NAB"
needs_nab = pytest.mark.skipif(
    not (NAB / "results" / "final_results.json").is_file(), reason="no NAB copy in shared/data"
)
STANDARD = CostMatrix(tp=1.0, fp=0.11, fn=1.0)
TS = pd.date_range("2024-01-01", periods=20, freq="5min")
WINDOW = [(TS[10], TS[14])]  # rows 10..14: width 5; probation is floor(0.15 * 20) = 3 rows


def S(x: float) -> float:
    """NAB's scaled sigmoid, written out by hand."""
    return 2 / (1 + math.exp(5 * x)) - 1


def one_file(detect_rows: list[int], cost: CostMatrix = STANDARD):
    """The 20-row file with 1.0 at `detect_rows`, scored at threshold 0.5."""
    scores = np.zeros(20)
    scores[detect_rows] = 1.0
    return score_file(sweep_file("f.csv", TS, scores, WINDOW, cost), 0.5, cost)


def test_scaled_sigmoid_matches_nab_definition():
    assert scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert scaled_sigmoid(0.0) == pytest.approx(0.0)
    assert scaled_sigmoid(1.0) == pytest.approx(-0.98661, abs=1e-5)
    assert scaled_sigmoid(3.5) == -1.0
    assert probation_length(20) == 3 and probation_length(22695) == 750


@pytest.mark.parametrize(
    ("rows", "expected", "counts"),
    [
        ([10], 1.0, (1, 12, 0, 4)),  # first row of the window: the full tpWeight
        ([12], S(-0.6) / S(-1), (1, 12, 0, 4)),  # position -(14 - 12 + 1) / 5
        ([11, 13], S(-0.8) / S(-1), (2, 12, 0, 3)),  # only the earliest detection in a window counts
        ([5], -0.11 - 1.0, (0, 11, 1, 5)),  # FP before any window costs the full fpWeight; the window is missed
        ([16], 0.11 * S((16 - 14) / (5 - 1)) - 1.0, (0, 11, 1, 5)),  # FP half a window-width past it
        ([1], -1.0, (0, 12, 0, 5)),  # probationary rows are ignored
        ([], -1.0, (0, 12, 0, 5)),
    ],
)
def test_score_file_by_hand(rows, expected, counts):
    fs = one_file(rows)
    assert fs.score == pytest.approx(expected, abs=1e-12)
    assert (fs.tp, fs.tn, fs.fp, fs.fn) == counts


def test_profiles_weigh_misses_and_false_positives():
    low_fn = CostMatrix(tp=1.0, fp=0.11, fn=2.0)
    low_fp = CostMatrix(tp=1.0, fp=0.22, fn=1.0)
    assert one_file([], low_fn).score == -2.0
    assert one_file([5], low_fp).score == pytest.approx(-0.22 - 1.0)


def test_sweep_finds_the_best_threshold_and_prefers_the_higher_on_ties():
    scores = np.zeros(20)
    scores[10], scores[5] = 0.9, 0.8  # a TP at the window's first row, then an FP
    sweep = sweep_corpus([sweep_file("a.csv", TS, scores, WINDOW, STANDARD)], STANDARD)
    assert list(sweep.thresholds) == [1.1, 0.9, 0.8, 0.0]
    everything = 1.0 - 0.11 * 7 + 0.11 * sum(S((i - 14) / 4) for i in range(15, 20))  # rows 3..9 and 15..19 as FPs
    assert sweep.scores == pytest.approx([-1.0, 1.0, 0.89, everything])
    assert sweep.best() == (0.9, pytest.approx(1.0))
    tie = np.zeros(20)
    tie[10], tie[12] = 0.7, 0.6  # lowering to 0.6 adds a later TP in the same window: same score
    assert sweep_corpus([sweep_file("b.csv", TS, tie, WINDOW, STANDARD)], STANDARD).best()[0] == 0.7


def test_normalisation_between_null_and_perfect():
    sweeps = [
        sweep_file("a.csv", TS, np.zeros(20), WINDOW, STANDARD),
        sweep_file("b.csv", TS, np.zeros(20), [], STANDARD),
    ]
    assert (null_score(sweeps, STANDARD), perfect_score(sweeps, STANDARD)) == (-1.0, 1.0)
    assert normalise(0.0, -1.0, 1.0) == 50.0


@needs_nab
def test_reproduces_nab_published_scores():
    """NAB's own result files (all 58, timestamps included) scored here give NAB's published figures."""
    windows = corpus.load_windows(NAB / "labels" / "combined_windows.json")
    profiles = corpus.load_profiles(NAB / "config" / "profiles.json")
    thresholds = json.loads((NAB / "config" / "thresholds.json").read_text())
    final = json.loads((NAB / "results" / "final_results.json").read_text())
    present = set(corpus.data_files(NAB / "data"))
    for detector in ("numenta", "windowedGaussian", "null"):
        files = corpus.result_files(NAB / "results", detector)
        assert len(files) == 58
        series = runner.baseline_series(NAB / "results", detector, files)
        for name, profile in profiles.items():
            cost = CostMatrix.from_profile(profile)
            sweeps = [sweep_file(rel, ts, sc, windows[rel], cost) for rel, (ts, sc) in series.items()]
            threshold = thresholds[detector][name]["threshold"]
            ours = {s.name: score_file(s, threshold, cost) for s in sweeps}
            nab = pd.read_csv(NAB / "results" / detector / f"{detector}_{name}_scores.csv").dropna(subset=["File"])
            for row in nab.itertuples():  # every per-file row of NAB's table, at NAB's threshold
                mine = ours[row.File]
                assert mine.score == pytest.approx(row.Score, abs=1e-6), (detector, name, row.File)
                assert (mine.tp, mine.tn, mine.fp, mine.fn) == (row.TP, row.TN, row.FP, row.FN), (
                    detector,
                    name,
                    row.File,
                )
            null, perfect = null_score(sweeps, cost), perfect_score(sweeps, cost)
            at_nab = normalise(sum(f.score for f in ours.values()), null, perfect)
            assert at_nab == pytest.approx(final[detector][name], abs=1e-6)
            swept = normalise(sweep_corpus(sweeps, cost).best()[1], null, perfect)
            assert final[detector][name] - 1e-9 <= swept <= final[detector][name] + 0.5  # our exhaustive sweep
            sub = [s for s in sweeps if s.name in present]  # the 42 files present: NAB's rows vs ours
            from_nab = nab.set_index("File").loc[[s.name for s in sub], "Score"].sum()
            assert sum(ours[s.name].score for s in sub) == pytest.approx(from_nab, abs=1e-6)


def test_detector_uses_only_the_past():
    rng = np.random.default_rng(0)
    n, cut = 3000, 1800
    t = pd.date_range("2024-01-01", periods=n, freq="5min")
    x = 10 + np.sin(np.arange(n) * 2 * np.pi / 288) + rng.normal(0, 0.1, n)
    other = x.copy()
    other[cut:] = rng.normal(50, 20, n - cut)  # a wildly different future
    probation = probation_length(n)
    full, changed = anomaly_scores(x, t, probation), anomaly_scores(other, t, probation)
    np.testing.assert_array_equal(full[:cut], changed[:cut])
    np.testing.assert_array_equal(full[:cut], anomaly_scores(x[:cut], t[:cut], probation))
    assert changed[cut] > 0.9 and full.max() < 1.0 and full.min() >= 0.0


def test_detector_flags_a_level_shift_first():
    rng = np.random.default_rng(1)
    n = 2000
    t = pd.date_range("2024-01-01", periods=n, freq="5min")
    x = 5 + rng.normal(0, 1, n)
    x[1500:] += 12
    s = anomaly_scores(x, t, probation_length(n))
    assert int(np.argmax(s)) == 1500
    assert (s[: probation_length(n)] == 0).all() and np.isfinite(s).all()


def test_detector_survives_gaps_and_constant_series():
    n = 600
    t = pd.date_range("2024-01-01", periods=n, freq="5min")
    gappy = np.full(n, np.nan)
    gappy[50:] = np.arange(n - 50) % 7
    gappy[300:320] = np.nan
    for values in (gappy, np.full(n, 3.0), np.full(n, np.nan)):
        s = anomaly_scores(values, t, probation_length(n))
        assert np.isfinite(s).all() and (s >= 0).all() and (s < 1).all()
    assert anomaly_scores(np.full(n, 3.0), t, probation_length(n)).max() == 0.0


def test_new_words_flags_first_occurrences_only():
    x = np.array([1.0, 2, 1, 2, 1, 2, np.nan, 2, 1])  # 2 bins over [1, 2]; words of 2 symbols; NaN is its own symbol
    assert new_words(x, probation=4, bins=2, length=2).tolist() == [0, 0, 1, 0, 0, 0, 1, 1, 0]


ONLY = {"means": (), "seasonal": (), "trend": (), "floor": (), "novelty": ()}  # every feature off


def test_sequence_novelty_flags_a_new_shape_inside_the_normal_range():
    n, cut = 2400, 1800
    t = pd.date_range("2024-01-01", periods=n, freq="7min")
    cycle = np.array([0.0, 2, 8, 4, 6, 0, 8, 2, 6, 4, 0, 8])
    x = np.tile(cycle, n // 12)
    x[cut:] = np.tile(cycle[::-1], (n - cut) // 12)  # the same values, levels and means, played backwards
    x += np.random.default_rng(4).normal(0, 0.1, n)
    probation = probation_length(n)
    nov = features(x, t, probation, DetectorParams(**{**ONLY, "novelty": ((5, 6, 24, 1.0),)}))["novelty5_6_24"]
    assert nov[probation:cut].max() == 0.0 and nov[cut : cut + 24].max() > 0.05
    level = features(x, t, probation, DetectorParams(**{**ONLY, "means": ((1, 1.0),)}))["mean1"]
    assert level[cut : cut + 24].max() < 0.2 * nov[cut : cut + 24].max()  # the values themselves are nothing new


def test_a_creeping_floor_adds_up_against_the_lagged_range():
    n, start = 2400, 1500
    t = pd.date_range("2024-01-01", periods=n, freq="7min")
    y = 10 + np.random.default_rng(6).normal(0, 0.3, n)
    for a in range(100, 1300, 300):
        y[a : a + 20] -= 4  # short dips give the floor a range
    y[start:] += np.minimum(np.arange(n - start) / 100, 3)  # then the floor creeps up by 0.01 a row
    probation = probation_length(n)
    floor = {
        lag: features(y, t, probation, DetectorParams(**{**ONLY, "floor": ((96, lag, 1.0),)}))["floor96"]
        for lag in (1, 48)
    }
    assert floor[48][probation:start].max() < 0.01
    assert floor[48][start:].max() > 1.5 * floor[1][start:].max()


SUBSET = [
    "realKnownCause/ec2_request_latency_system_failure.csv",
    "artificialWithAnomaly/art_daily_jumpsup.csv",
    "artificialNoAnomaly/art_daily_small_noise.csv",
]


@needs_nab
def test_cli_on_a_subset(tmp_path, capsys):
    data = tmp_path / "data"
    for rel in SUBSET:
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(NAB / "data" / rel, data / rel)
    out = tmp_path / "out"
    labels = NAB / "labels" / "combined_windows.json"
    assert main(["nab", "--data", str(data), "--labels", str(labels), "--out", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["files"] == 3 and report["windows"] == 4
    for key in ("standard", "reward_low_FP_rate", "reward_low_FN_rate"):
        assert -200 < report[key] <= 100
    assert set(report["baselines"]) >= {"numenta", "windowedGaussian", "null"}
    assert report["baselines"]["null"]["standard"]["score"] == 0.0
    written = corpus.result_path(out, "monitorPipeline", SUBSET[0])
    df = pd.read_csv(written)
    assert list(df.columns) == ["timestamp", "value", "anomaly_score", "label"]
    assert df["label"].sum() > 0 and df["anomaly_score"].between(0, 1).all()
    # the printed score is the written files' score
    windows = corpus.load_windows(labels)
    again = runner.score_series(
        runner.baseline_series(out, "monitorPipeline", SUBSET), windows, corpus.DEFAULT_PROFILES
    )
    assert again["standard"].score == pytest.approx(report["standard"], abs=1e-3)


def test_cli_errors_are_one_line(tmp_path, capsys):
    labels = tmp_path / "labels.json"
    labels.write_text("{not json")
    (tmp_path / "data" / "cat").mkdir(parents=True)
    (tmp_path / "data" / "cat" / "s.csv").write_text("timestamp,value\n2024-01-01 00:00:00,1\n")
    assert main(["nab", "--data", str(tmp_path / "missing"), "--labels", str(labels), "--out", str(tmp_path)]) == 2
    assert "data folder" in capsys.readouterr().err
    assert main(["nab", "--data", str(tmp_path / "data"), "--labels", str(labels), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "labels file" in err and len(err.strip().splitlines()) == 1
    labels.write_text(json.dumps({"other/x.csv": []}))
    assert main(["nab", "--data", str(tmp_path / "data"), "--labels", str(labels), "--out", str(tmp_path)]) == 2
    assert "no entry for cat/s.csv" in capsys.readouterr().err
