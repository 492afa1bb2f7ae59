"""Counter increases and histogram quantiles against values computed by hand (Prometheus semantics)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitor_pipeline.ingest.serving.promql import counter_increases, histogram_quantile

INF = math.inf


def test_a_counter_that_drops_restarted_and_counts_its_new_value():
    dt, inc = counter_increases(np.array([0.0, 60, 120, 180]), np.array([10.0, 25, 5, 12]))
    assert dt.tolist() == [60, 60, 60]
    assert inc.tolist() == [15, 5, 7]  # 25 -> 5 is a restart: 5 were counted since, not -20


def test_one_sample_gives_no_increase():
    dt, inc = counter_increases(np.array([0.0]), np.array([3.0]))
    assert len(dt) == len(inc) == 0


@pytest.mark.parametrize(
    ("q", "want"),
    [
        (0.5, 0.4),  # rank 5 lies in (0.1, 0.5] holding 4 (3rd..6th): 0.1 + 0.4 * 3/4
        (0.1, 0.05),  # rank 1 in the first bucket, which starts at 0: 0.1 * 1/2
        (0.95, 1.0),  # rank 9.5 is in +Inf: the highest finite bound
        (0.0, 0.0),
    ],
)
def test_histogram_quantile_interpolates_like_prometheus(q, want):
    assert histogram_quantile(q, [0.1, 0.5, 1.0, INF], [2, 6, 9, 10]) == pytest.approx(want)


def test_histogram_quantile_edge_cases():
    assert math.isnan(histogram_quantile(0.5, [0.1, 0.5, 1.0], [2, 6, 9]))  # no +Inf bucket
    assert math.isnan(histogram_quantile(0.5, [0.1, INF], [0, 0]))  # nothing observed
    assert math.isnan(histogram_quantile(0.5, [INF], [4]))  # one bucket
    assert histogram_quantile(1.5, [0.1, INF], [1, 1]) == INF
    assert histogram_quantile(-0.1, [0.1, INF], [1, 1]) == -INF
    # Buckets in any order; a bucket caught mid-update counting fewer than the one below is raised to it:
    # [2, 6, 5, 10] -> [2, 6, 6, 10]; rank 5.5 in (0.1, 0.5]: 0.1 + 0.4 * 3.5/4.
    assert histogram_quantile(0.55, [INF, 1.0, 0.1, 0.5], [10, 5, 2, 6]) == pytest.approx(0.45)
    # A first bucket with a bound <= 0 returns that bound.
    assert histogram_quantile(0.5, [0.0, 1.0, INF], [3, 4, 4]) == 0.0
