"""The figures a report shows, how each is read from a run, and how each is printed.

Thresholds, each explained where it is defined:
  TAIL_SAMPLES        a latency percentile p is shown only when at least 10 samples lie
                      beyond it: samples * (1 - p) >= 10
  P99_MIN_SAMPLES     so p99 needs 1,000 latency samples in every repetition
  RSS_MIN_CONNECTIONS RSS per connection only from 100 connections (active + idle) up
"""

from dataclasses import dataclass

from . import stats

# At least this many samples must lie beyond a percentile for it to mean something: with
# fewer, p99 is decided by a handful of requests (and with fewer than 100 samples, p99 is
# simply the maximum).
TAIL_SAMPLES = 10
P99_MIN_SAMPLES = round(TAIL_SAMPLES / (1 - 0.99))  # 1,000

# rss_per_conn_kb is (RSS under load - RSS before the load) / connections. Memory comes
# in pages and allocator arenas, so with few connections the difference is noise (it can
# even be negative); from 100 connections up it measures what a connection costs.
RSS_MIN_CONNECTIONS = 100


def percentile_supported(samples, percentile):
    """Whether `samples` latencies are enough to report `percentile` (e.g. 99.9)."""
    return samples is not None and samples * (1 - percentile / 100) >= TAIL_SAMPLES - 1e-9


def format_latency(ns):
    """Nanoseconds in the unit a reader wants: 850 ns, 12.3 µs, 4.56 ms, 1.20 s."""
    if ns is None:
        return "n/a"
    for limit, scale, unit in ((1e3, 1, "ns"), (1e6, 1e3, "µs"), (1e9, 1e6, "ms")):
        if abs(ns) < limit:
            return f"{_three_digits(ns / scale)} {unit}"
    return f"{_three_digits(ns / 1e9)} s"


def _three_digits(v):
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def format_rate(v):
    return "n/a" if v is None else f"{v:,.0f}"


def format_cpu_us(v):
    return "n/a" if v is None else f"{_three_digits(v)} µs"


def format_kib(v):
    return "n/a" if v is None else f"{_three_digits(v)} KiB"


def format_ratio(v):
    return "n/a" if v is None else f"{v:.3f}"


# ---- how each figure is read from a run ---------------------------------------------------

def _throughput(run):
    return run.number("summary", "requests_per_sec"), "no requests_per_sec"


def _latency(percentile_key, percentile):
    def read(run):
        if not percentile_supported(run.latency_samples, percentile):
            samples = run.latency_samples
            have = "no latency samples" if samples is None else f"{samples:,.0f} samples"
            need = round(TAIL_SAMPLES / (1 - percentile / 100))
            return None, f"{have}; p{percentile:g} needs {need:,}"
        return run.number("summary", "latency_ns", "corrected", percentile_key), "no latency figures"
    return read


def cpu_us_per_line_source(run):
    """Where a run's CPU per line comes from: "window", "lifetime" or None."""
    if run.number("server", "cpu_us_per_line") is not None:
        return "window"
    if _lifetime_cpu_per_line(run) is not None:
        return "lifetime"
    return None


def _lifetime_cpu_per_line(run):
    user, sys_ = run.number("server", "cpu_user_s"), run.number("server", "cpu_sys_s")
    requests = run.requests
    if user is None or sys_ is None or not requests:
        return None
    # The whole lifetime includes the warm-up, which serves lines at about the same rate
    # as the window; count them too (startup and shutdown are left in: an overestimate).
    duration = run.number("config", "duration_s")
    warmup = run.number("config", "warmup_s") or 0.0
    lines = requests * (1 + warmup / duration) if duration else requests
    return (user + sys_) / lines * 1e6


def _cpu_per_line(run):
    value = run.number("server", "cpu_us_per_line")
    if value is None:
        value = _lifetime_cpu_per_line(run)
    return value, "no server CPU time or no requests"


def _rss_per_connection(run):
    total = (run.load.connections or 0) + (run.load.idle or 0)
    if total < RSS_MIN_CONNECTIONS:
        return None, f"below {RSS_MIN_CONNECTIONS} connections"
    return run.number("server", "rss_per_conn_kb"), "no rss_per_conn_kb"


def _achieved_fraction(run):
    rate = run.load.rate
    achieved = run.number("summary", "requests_per_sec")
    if not rate or achieved is None:
        return None, "not an open-loop run"
    return achieved / rate, ""


@dataclass(frozen=True)
class Metric:
    key: str
    title: str        # "throughput"
    unit: str         # "lines/s"
    axis_label: str   # "throughput (lines/s)"
    higher_is_better: bool
    better_phrase: str  # "A {better_phrase} B": "is faster than"
    reader: object    # run -> (value or None, why it is None)
    formatter: object
    scale: float = 1.0  # chart value = value * scale (latency ns -> ms)
    all_repetitions: bool = False  # n/a unless every repetition has the figure
    missing_summary: str = ""  # why a chart leaves points out, in a few words

    def value(self, run):
        return self.reader(run)[0]

    def why_missing(self, run):
        return self.reader(run)[1]

    def format(self, value):
        return self.formatter(value)


THROUGHPUT = Metric("throughput", "throughput", "lines/s", "throughput (lines/s)", True,
                    "is faster than", _throughput, format_rate)
P50 = Metric("p50", "p50 latency", "ns", "median latency (ms)", False, "has a lower median latency than",
             _latency("p50", 50), format_latency, scale=1e-6,
             missing_summary=f"< {round(TAIL_SAMPLES / 0.5)} samples")
P99 = Metric("p99", "p99 latency", "ns", "p99 latency (ms)", False, "has a lower p99 latency than",
             _latency("p99", 99), format_latency, scale=1e-6, all_repetitions=True,
             missing_summary=f"< {P99_MIN_SAMPLES:,} samples per repetition")
CPU_PER_LINE = Metric("cpu_us_per_line", "server CPU per line", "µs", "server CPU per line (µs)", False,
                      "uses less CPU per line than", _cpu_per_line, format_cpu_us)
RSS_PER_CONNECTION = Metric("rss_per_conn_kb", "RSS per connection", "KiB", "server RSS per connection (KiB)",
                            False, "uses less memory per connection than", _rss_per_connection, format_kib,
                            missing_summary=f"measured from {RSS_MIN_CONNECTIONS} connections up")
ACHIEVED = Metric("achieved", "achieved / offered rate", "", "achieved / offered rate", True,
                  "keeps up better than", _achieved_fraction, format_ratio)

METRICS = (THROUGHPUT, P50, P99, CPU_PER_LINE, RSS_PER_CONNECTION, ACHIEVED)


@dataclass(frozen=True)
class CellFigure:
    """A cell's estimate of one metric, or None and why not."""

    estimate: object  # stats.Estimate or None
    note: object      # str or None

    def format(self, metric):
        e = self.estimate
        if e is None:
            return "n/a" + (f" ({self.note})" if self.note else "")
        text = metric.format(e.median)
        if e.has_interval:
            text += f" [{metric.format(e.low)} – {metric.format(e.high)}]"
        elif e.n < stats.MIN_REPETITIONS_FOR_CI:
            text += f" (n={e.n}, no interval)"
        return text


def cell_figure(cell, metric):
    """The median and interval of `metric` over the cell's successful repetitions (cached)."""
    cache = cell.figures
    if metric.key in cache:
        return cache[metric.key]
    ok = cell.ok_runs
    if not ok:
        figure = CellFigure(None, "all runs failed" if cell.failed_runs else "skipped" if cell.runs else "not run")
    else:
        values, missing = [], []
        for run in ok:
            v = metric.value(run)
            if v is None:
                missing.append(metric.why_missing(run))
            else:
                values.append(v)
        if missing and (metric.all_repetitions or not values):
            figure = CellFigure(None, sorted(set(missing))[0])
        else:
            note = f"{len(missing)} of {len(ok)} repetitions lack it" if missing else None
            figure = CellFigure(stats.estimate(values), note)
    cache[metric.key] = figure
    return figure


def format_value(metric, estimate):
    """An estimate as "median [low – high]" in the metric's unit."""
    return CellFigure(estimate, None).format(metric)


def run_values(cell, metric):
    """The metric's values over the cell's successful runs, or None where the cell has no
    figure by cell_figure's rules (so that ratios use exactly what the tables show)."""
    if cell_figure(cell, metric).estimate is None:
        return None
    return [v for v in (metric.value(r) for r in cell.ok_runs) if v is not None]
