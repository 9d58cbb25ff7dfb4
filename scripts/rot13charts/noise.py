"""The noise floor of a results file, measured by its own A/A pair.

An A/A pair is one server listed twice in a suite under two labels (docs/harness.md:
{"variant": "epoll"} and {"variant": "epoll", "name": "epoll-A2"}): the same binary
with the same arguments, interleaved with everything else. Whatever separates the two is
the machine's noise at this suite's repetitions and window.

Minimum detectable difference (MDD) at one load point: the A/A pair's paired ratio
A2 / A (paired.py) has a 95% bootstrap interval [l, h]; the MDD is how far it reaches
from 1, max(h - 1, 1 - l), in percent. Two different servers compared the same way get an
interval about as wide, so a true difference smaller than the MDD is usually reported as
"within ±x %", not as a finding. The suite's MDD for a figure is the median over the A/A
pair's load points (each load point is one estimate of the same noise).

Alert threshold (github-action-benchmark's alert-threshold, for the CI job): every A/A
round gives one ratio A2 / A of server CPU per line; the threshold is the 95th percentile
of |ln ratio| over all of them, as the ratio exp(that), rounded up to 5 %, and at least
MIN_THRESHOLD_PERCENT. It is the ratio one run of one configuration shows against an
identical one 19 times out of 20, which is what the action's comparison of two commits'
medians is up against (plus the drift between two workflow runs, which one file cannot
measure: hence the confirming rerun, regressions.py).

A short suite has few A/A rounds (the ci suite: 2 repetitions at 2 loads, 4 rounds), and a
95th percentile of fewer than MIN_AA_ROUNDS is no estimate at all. Then aa_suite() writes
a suite of just the A/A pair with enough repetitions for AA_TOPUP_ROUNDS in all, and
alert_threshold() pools the rounds of every file it is given. The top-up's rounds
interleave only the two labels, so they see a little less drift than the suite's own.
"""

import math
from dataclasses import dataclass

import numpy as np

from . import metrics, paired, stats
from .results import SWEEPS, configuration_id

NAME_SUFFIX = "-A2"  # the suite's convention for the second label (docs/harness.md)
MIN_THRESHOLD_PERCENT = 110
THRESHOLD_STEP_PERCENT = 5
MIN_AA_ROUNDS = 5
AA_TOPUP_ROUNDS = 10  # rounds wanted in all when a suite has too few (aa_suite)
NOISE_METRICS = (metrics.CPU_PER_LINE, metrics.THROUGHPUT, metrics.P99)


def _server_command(results, series):
    """The server's command line of its first run, without the port's value, or None."""
    for run in results.runs:
        if run.series != series or run.status == "skipped":
            continue
        argv = (run.data.get("commands") or {}).get("server")
        if not isinstance(argv, list):
            return None
        return tuple("PORT" if i and argv[i - 1] == "--port" else str(a) for i, a in enumerate(argv))
    return None


def aa_pairs(results):
    """[(A, A2)] series pairs of the file: the same variant and backend, and the same command
    line (or, where the file has no commands, the second named like the first plus "-A2")."""
    pairs = []
    series = results.series
    for i, a in enumerate(series):
        for b in series[i + 1:]:
            if a.variant is None or (a.variant, a.backend) != (b.variant, b.backend):
                continue
            ca, cb = _server_command(results, a), _server_command(results, b)
            same_command = ca is not None and ca == cb
            named = b.server == a.server + NAME_SUFFIX or a.server == b.server + NAME_SUFFIX
            if same_command or ((ca is None or cb is None) and named):
                pairs.append((a, b) if not a.server.endswith(NAME_SUFFIX) else (b, a))
    return pairs


@dataclass(frozen=True)
class NoisePoint:
    load: object          # LoadPoint
    comparison: object    # paired.Comparison of A2 / A

    @property
    def mdd_percent(self):
        c = self.comparison
        return stats.within_percent(c.ratio) if c is not None and c.has_interval else None


@dataclass(frozen=True)
class NoiseFloor:
    metric: object
    pair: tuple           # (A, A2) series
    points: list          # [NoisePoint]

    @property
    def mdd_percent(self):
        """The median MDD over the load points, or None without an interval anywhere."""
        values = [p.mdd_percent for p in self.points if p.mdd_percent is not None]
        return float(np.median(values)) if values else None

    @property
    def mdd_range(self):
        values = [p.mdd_percent for p in self.points if p.mdd_percent is not None]
        return (min(values), max(values)) if values else None


def _cells_of(results, series):
    # Not knee searches: their figures are at rates each search chose, not one load's noise.
    return {c.load: c for c in results.cells if c.series == series and c.load.mode in SWEEPS}


def noise_floors(results, metric):
    """[NoiseFloor] of each A/A pair of the file for `metric` (empty without a pair)."""
    index = paired.order_index(results)
    floors = []
    for a, b in aa_pairs(results):
        cells_a, cells_b = _cells_of(results, a), _cells_of(results, b)
        points = [NoisePoint(load, paired.compare_cells(cells_a[load], cells_b[load], metric, index))
                  for load in sorted(cells_a, key=lambda lp: lp.sort_key()) if load in cells_b]
        floors.append(NoiseFloor(metric, (a, b), points))
    return floors


def aa_log_ratios(results, metric=metrics.CPU_PER_LINE):
    """|ln(A2 / A)| of every A/A round (paired by round; unpaired files give none)."""
    index = paired.order_index(results)
    logs = []
    for a, b in aa_pairs(results):
        cells_a, cells_b = _cells_of(results, a), _cells_of(results, b)
        for load, cell in cells_a.items():
            if load not in cells_b:
                continue
            for va, vb, _distance in paired.round_pairs(cell, cells_b[load], metric, index) or []:
                if va > 0 and vb > 0:
                    logs.append(abs(math.log(vb / va)))
    return logs


class NoNoiseMeasurement(Exception):
    """The file has no (or too small an) A/A pair to measure the noise with."""


class TooFewRounds(NoNoiseMeasurement):
    """The files have an A/A pair, but too few paired rounds of it: measure more (aa_suite)."""

    def __init__(self, message, rounds):
        super().__init__(message)
        self.rounds = rounds


def alert_threshold(results, metric=metrics.CPU_PER_LINE):
    """(threshold in percent, a sentence saying how it was found) from the A/A rounds of one
    results file or of several pooled (a list: the suite's run and an aa_suite() top-up);
    raises NoNoiseMeasurement, or TooFewRounds when there is a pair but too few rounds."""
    files = results if isinstance(results, (list, tuple)) else [results]
    where = ", ".join(str(r.path) for r in files)
    pairs = [pair for r in files for pair in aa_pairs(r)]
    if not pairs:
        raise NoNoiseMeasurement(f"{where}: no A/A pair (one server under two labels, e.g. \"epoll\" and "
                                 f"\"epoll{NAME_SUFFIX}\": docs/harness.md) to measure the noise with")
    logs = [x for r in files for x in aa_log_ratios(r, metric)]
    if len(logs) < MIN_AA_ROUNDS:
        raise TooFewRounds(f"{where}: the A/A pair has {len(logs)} paired rounds with {metric.title}; "
                           f"at least {MIN_AA_ROUNDS} are needed (more repetitions or load points)", len(logs))
    q95 = float(np.percentile(logs, 95))
    raw = 100 * math.exp(q95)
    percent = max(MIN_THRESHOLD_PERCENT, math.ceil(raw / THRESHOLD_STEP_PERCENT - 1e-9) * THRESHOLD_STEP_PERCENT)
    names = ", ".join(dict.fromkeys(f"{a.label} vs {b.label}" for a, b in pairs))
    how = (f"{len(logs)} A/A rounds ({names}{f'; {len(files)} files pooled' if len(files) > 1 else ''}) of "
           f"{metric.title}: the 95th percentile of |ln(A2/A)| is "
           f"{q95:.3f}, a ratio of {raw / 100:.3f}; rounded up to {THRESHOLD_STEP_PERCENT} % "
           f"(at least {MIN_THRESHOLD_PERCENT} %): {percent}%")
    return percent, how


def aa_configurations(results):
    """The configuration ids (export names) of the A/A pair's cells, both labels, at every
    load point where both were measured: what aa_suite() runs again."""
    names = []
    for a, b in aa_pairs(results):
        cells_a, cells_b = _cells_of(results, a), _cells_of(results, b)
        for load in sorted(cells_a, key=lambda lp: lp.sort_key()):
            if load in cells_b and cells_a[load].ok_runs and cells_b[load].ok_runs:
                names += [configuration_id(cells_a[load].runs[0].id), configuration_id(cells_b[load].runs[0].id)]
    return names


def aa_suite(results, have_rounds, want_rounds=AA_TOPUP_ROUNDS):
    """A suite of just the file's A/A pair with enough repetitions that, pooled with the
    have_rounds the file has, there are at least want_rounds; raises NoNoiseMeasurement
    without a measured pair."""
    from .regressions import rerun_suite
    names = aa_configurations(results)
    if not names:
        raise NoNoiseMeasurement(f"{results.path}: no A/A pair measured at any load point")
    loads = len(names) // 2
    repetitions = max(2, math.ceil((want_rounds - have_rounds) / loads))
    return rerun_suite(results, names, repetitions=repetitions, name="aa",
                       description=f"The A/A pair of {results.name} alone, {repetitions} repetitions at {loads} "
                                   f"load point(s): more rounds for the alert threshold (scripts/alert-threshold)")
