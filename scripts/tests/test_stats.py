"""The statistics and the claims rule (rot13charts.stats)."""

import pytest

from rot13charts import stats


def test_median_of_repetitions_with_interval_inside_their_range():
    e = stats.estimate([100.0, 103.0, 98.0, 101.0, 99.0])
    assert e.median == 100.0
    assert e.has_interval
    assert 98.0 <= e.low <= e.median <= e.high <= 103.0


def test_interval_is_reproducible_with_the_fixed_seed():
    values = [5.0, 7.0, 6.0, 9.0, 4.0]
    assert stats.bootstrap_median_interval(values) == stats.bootstrap_median_interval(values)
    assert stats.estimate(values) == stats.estimate(values)


def test_fewer_than_three_repetitions_have_no_interval():
    e = stats.estimate([10.0, 12.0])
    assert e.median == 11.0 and not e.has_interval and e.n == 2
    assert stats.estimate([]) is None


def test_no_claim_without_intervals():
    a = stats.estimate([10.0, 10.5])
    b = stats.estimate([20.0, 20.5])
    assert stats.compare(a, b) == stats.UNKNOWN
    assert stats.compare(None, b) == stats.UNKNOWN


def test_intervals_apart_give_a_claim_in_the_right_direction():
    fast = stats.estimate([200.0, 202.0, 199.0, 201.0, 200.5])
    slow = stats.estimate([150.0, 151.0, 149.0, 150.5, 152.0])
    assert not fast.overlaps(slow)
    assert stats.compare(fast, slow, higher_is_better=True) == stats.FIRST_BETTER
    assert stats.compare(slow, fast, higher_is_better=True) == stats.SECOND_BETTER
    # For latency lower is better: the same numbers flip.
    assert stats.compare(fast, slow, higher_is_better=False) == stats.SECOND_BETTER


def test_overlapping_intervals_give_no_measurable_difference():
    a = stats.estimate([100.0, 110.0, 90.0, 105.0, 95.0])
    b = stats.estimate([102.0, 112.0, 92.0, 107.0, 97.0])
    assert a.overlaps(b)
    assert stats.compare(a, b) == stats.NO_DIFFERENCE


def test_ratio_of_medians_and_its_interval():
    a = [100.0, 101.0, 99.0, 100.5, 99.5]
    b = [130.0, 131.0, 129.0, 130.5, 129.5]
    r = stats.ratio_estimate(a, b)
    assert r.median == pytest.approx(1.3)
    assert r.low > 1 and r.low <= r.median <= r.high
    assert stats.compare_ratio(r, higher_is_better=True) == stats.SECOND_BETTER
    assert stats.compare_ratio(r, higher_is_better=False) == stats.FIRST_BETTER


def test_ratio_interval_around_one_is_no_difference():
    r = stats.ratio_estimate([100.0, 104.0, 96.0], [101.0, 97.0, 103.0])
    assert r.low <= 1 <= r.high
    assert stats.compare_ratio(r) == stats.NO_DIFFERENCE


def test_ratio_needs_both_sides_and_a_nonzero_baseline():
    assert stats.ratio_estimate([], [1.0]) is None
    assert stats.ratio_estimate([0.0, 0.0, 0.0], [1.0, 1.0, 1.0]) is None
    assert stats.compare_ratio(stats.ratio_estimate([1.0], [2.0])) == stats.UNKNOWN
