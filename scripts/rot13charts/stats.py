"""Statistics: medians over repetitions, 95% bootstrap intervals, and the claims rule.

1. Every figure is the median over a configuration's repetitions (runs with status "ok").
2. Its 95% confidence interval is a percentile bootstrap: draw the repetitions with
   replacement BOOTSTRAP_RESAMPLES times, take the median of each draw, and keep the 2.5th
   and 97.5th percentiles of those medians. The generator starts from BOOTSTRAP_SEED for
   every interval, so the same results file always gives the same report, byte for byte.
3. The claims rule: "A is faster than B" is written only when the two intervals do not
   overlap; overlapping intervals give "no measurable difference". Without an interval on
   either side (fewer than MIN_REPETITIONS_FOR_CI repetitions) no claim is made at all.
4. Two results files (scripts/compare): the ratio of medians B/A, with a bootstrap
   interval from resampling each side on its own; a difference is claimed only when that
   interval excludes 1.
5. Two servers of one results file (the report's "A vs B"): the runs are paired by round
   of the interleaved order (paired.py), the ratio is the median of the pairs' ratios, and
   its bootstrap interval resamples the pairs; a difference is claimed only when that
   interval excludes 1, otherwise the two are "within ±x %", x from the interval.

How much an interval from few repetitions means: a bootstrap interval of the median can
never be wider than [min, max] of the repetitions, and the true median lies outside
[min, max] with probability 2 * 0.5**n: 25% for n = 3, 6% for n = 5. Intervals from three
repetitions are therefore narrower than their name says; the reference suites use five.
"""

from dataclasses import dataclass

import numpy as np

BOOTSTRAP_RESAMPLES = 5000
BOOTSTRAP_SEED = 40713  # the book's port; any fixed number would do
CONFIDENCE = 0.95
MIN_REPETITIONS_FOR_CI = 3


@dataclass(frozen=True)
class Estimate:
    """The median of n repetitions and its 95% interval (low, high; None when n is too small)."""

    median: float
    low: object
    high: object
    n: int
    values: tuple = ()

    @property
    def has_interval(self):
        return self.low is not None and self.high is not None

    def overlaps(self, other):
        return self.low <= other.high and other.low <= self.high


def _tails():
    alpha = (1 - CONFIDENCE) / 2
    return [100 * alpha, 100 * (1 - alpha)]


def bootstrap_median_interval(values, resamples=BOOTSTRAP_RESAMPLES, seed=BOOTSTRAP_SEED):
    """The percentile-bootstrap 95% interval of the median of `values`."""
    x = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    draws = x[rng.integers(0, len(x), size=(resamples, len(x)))]
    low, high = np.percentile(np.median(draws, axis=1), _tails())
    return float(low), float(high)


def estimate(values):
    """Median and interval of a list of numbers (None entries are not allowed); None when empty."""
    values = [float(v) for v in values]
    if not values:
        return None
    median = float(np.median(values))
    if len(values) < MIN_REPETITIONS_FOR_CI:
        return Estimate(median, None, None, len(values), tuple(values))
    low, high = bootstrap_median_interval(values)
    # Floating-point percentiles can land a hair outside [min, max] or around the median.
    low, high = min(low, median), max(high, median)
    return Estimate(median, low, high, len(values), tuple(values))


def ratio_estimate(a_values, b_values, resamples=BOOTSTRAP_RESAMPLES, seed=BOOTSTRAP_SEED):
    """median(b) / median(a) with a bootstrap interval; None when median(a) is 0 or a side is empty."""
    a = np.asarray([float(v) for v in a_values])
    b = np.asarray([float(v) for v in b_values])
    if len(a) == 0 or len(b) == 0 or np.median(a) == 0:
        return None
    ratio = float(np.median(b) / np.median(a))
    n = min(len(a), len(b))
    if n < MIN_REPETITIONS_FOR_CI:
        return Estimate(ratio, None, None, n)
    rng = np.random.default_rng(seed)
    a_medians = np.median(a[rng.integers(0, len(a), size=(resamples, len(a)))], axis=1)
    b_medians = np.median(b[rng.integers(0, len(b), size=(resamples, len(b)))], axis=1)
    usable = a_medians != 0
    low, high = np.percentile(b_medians[usable] / a_medians[usable], _tails())
    return Estimate(ratio, min(float(low), ratio), max(float(high), ratio), n)


def paired_ratio_estimate(pairs, resamples=BOOTSTRAP_RESAMPLES, seed=BOOTSTRAP_SEED):
    """The median over pairs (a, b) of b / a, with a bootstrap interval that resamples the
    pairs; None without a usable pair (a must not be 0)."""
    ratios = np.asarray([float(b) / float(a) for a, b in pairs if float(a) != 0])
    if len(ratios) == 0:
        return None
    median = float(np.median(ratios))
    if len(ratios) < MIN_REPETITIONS_FOR_CI:
        return Estimate(median, None, None, len(ratios), tuple(ratios))
    low, high = bootstrap_median_interval(ratios, resamples, seed)
    return Estimate(median, min(low, median), max(high, median), len(ratios), tuple(ratios))


def within_percent(ratio):
    """How far from 1 a ratio's interval reaches, in percent: the "x" of "within ±x %"."""
    return 100 * max(ratio.high - 1, 1 - ratio.low)


# Verdicts of compare() and compare_ratio().
FIRST_BETTER = "first"
SECOND_BETTER = "second"
NO_DIFFERENCE = "same"
UNKNOWN = "unknown"


def compare(first, second, higher_is_better=True):
    """Which of two estimates is better by the claims rule (see the module's comment)."""
    if first is None or second is None or not first.has_interval or not second.has_interval:
        return UNKNOWN
    if first.overlaps(second):
        return NO_DIFFERENCE
    first_higher = first.median > second.median
    return FIRST_BETTER if first_higher == higher_is_better else SECOND_BETTER


def compare_ratio(ratio, higher_is_better=True):
    """For a ratio B/A: SECOND_BETTER when B is measurably better than A, and so on."""
    if ratio is None or not ratio.has_interval:
        return UNKNOWN
    if ratio.low <= 1 <= ratio.high:
        return NO_DIFFERENCE
    b_higher = ratio.low > 1
    return SECOND_BETTER if b_higher == higher_is_better else FIRST_BETTER
