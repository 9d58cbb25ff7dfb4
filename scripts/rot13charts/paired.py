"""Paired comparisons of two servers measured in the same results file.

The harness interleaves a suite (docs/harness.md, "Order"): repetition 1 of every
configuration in a shuffled order, then repetition 2 in another, and so on, and records
the order in suite.order. Two configurations' runs of the same repetition therefore ran
in the same round, minutes apart at most, while a slow drift of the machine (a
neighbour's compile, heat) moves between rounds. Dividing run by run within a round
cancels what the round shares; the ratio is then the median of the rounds' ratios, with a
bootstrap interval over the rounds (stats.paired_ratio_estimate).

A comparison is "unpaired" when the file does not say the runs were interleaved (no
suite.order, or one of the runs is not in it): then the ratio of the two medians with
each side resampled on its own (stats.ratio_estimate) stands in, and the text says so.
Rounds where either side failed are left out of the pairs.
"""

from dataclasses import dataclass

from . import metrics, stats


@dataclass(frozen=True)
class Comparison:
    """second / first for one metric: the ratio's Estimate (or None), whether it is
    paired, and how far apart in the run order the paired runs were at most."""

    ratio: object
    paired: bool
    max_distance: object = None  # int or None

    @property
    def has_interval(self):
        return self.ratio is not None and self.ratio.has_interval

    def excludes_one(self):
        return self.has_interval and not self.ratio.low <= 1 <= self.ratio.high

    def how(self):
        """"paired, 5 rounds" or "unpaired"."""
        if not self.paired:
            return "unpaired"
        n = self.ratio.n if self.ratio is not None else 0
        return f"paired, {n} round{'s' * (n != 1)}"


def order_index(results):
    """{run id: position in the run order}, empty when the file does not record it."""
    order = results.suite.get("order")
    if not isinstance(order, list):
        return {}
    return {run_id: i for i, run_id in enumerate(order) if isinstance(run_id, str)}


def round_pairs(first, second, metric, index):
    """[(first's value, second's value, distance in the order)] of the rounds where both
    have the metric, or None when the runs cannot be paired (not in the order)."""
    runs = first.ok_runs + second.ok_runs
    if not index or any(r.id not in index for r in runs):
        return None
    by_round = {r.repetition: r for r in second.ok_runs}
    pairs = []
    for run in first.ok_runs:
        other = by_round.get(run.repetition)
        if other is None:
            continue
        a, b = metric.value(run), metric.value(other)
        if a is not None and b is not None:
            pairs.append((a, b, abs(index[run.id] - index[other.id])))
    return pairs


def compare_cells(first, second, metric, index):
    """second / first for `metric` (see the module's comment), or None when a side has no
    figure by the table's rules (metrics.cell_figure)."""
    a_values, b_values = metrics.run_values(first, metric), metrics.run_values(second, metric)
    if a_values is None or b_values is None:
        return None
    pairs = round_pairs(first, second, metric, index)
    if pairs is None:
        return Comparison(stats.ratio_estimate(a_values, b_values), paired=False)
    ratio = stats.paired_ratio_estimate([(a, b) for a, b, _d in pairs])
    return Comparison(ratio, paired=True, max_distance=max((d for _a, _b, d in pairs), default=None))


def within_text(comparison):
    """"within ±2.1 %" for a comparison whose interval includes 1."""
    return f"within ±{stats.within_percent(comparison.ratio):.1f} %"


def ratio_text(comparison):
    """"ratio 1.33 [1.31 – 1.35]"."""
    r = comparison.ratio
    return f"ratio {r.median:.3f} [{r.low:.3f} – {r.high:.3f}]"
