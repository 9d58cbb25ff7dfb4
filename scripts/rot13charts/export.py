"""github-action-benchmark's customSmallerIsBetter JSON from a results file and, optionally,
a rot13-micro (Google Benchmark) file.

The action reads a list of {"name", "unit", "value", "range", "extra"}: value a number,
range and extra strings it shows beside the value; it stores the list per commit and
alerts when a value grows by more than its alert-threshold against the previous commit's
value of the same name. So names must be unique and stable from commit to commit:

- one entry per configuration of the results file: its run id without the repetition
  ("epoll/closed-c100-d1-idle0-s16", made by the harness from the configuration), the
  median server CPU µs per line, the half-width of its 95% bootstrap interval as range
  ("± 0.12"), and lines/s, p99, repetitions and the commit in extra;
- one entry per micro-benchmark ("micro/dispatch/epoll/fds:100/active:1"). Google
  Benchmark's JSON with repetitions has a row per repetition and aggregate rows
  (name_mean, _median, _stddev, _cv) that the action's own googlecpp reader would store as
  four more benchmarks; here each benchmark is one row: the median of its repetitions'
  CPU time per iteration, with the half-width of its bootstrap interval as range (a file
  of aggregates only: its _median row, with its _stddev as range).

Configurations skipped in every run (not built here) are left out silently; those
without a CPU figure (every run failed) have no value and are left out too, and export()
returns them so that the command line can say which.
"""

from . import metrics, stats
from .results import configuration_id

CPU_UNIT = "µs/line"
MICRO_PREFIX = "micro/"


def significant(value, digits=4):
    """12.345678 -> 12.35: values that do not change in the fifth digit diff cleanly."""
    return float(f"{value:.{digits}g}")


def range_text(estimate):
    """"± 0.12" (the interval's larger half-width), or None without an interval."""
    if estimate is None or not estimate.has_interval:
        return None
    half = max(estimate.median - estimate.low, estimate.high - estimate.median)
    return f"± {significant(half, 2):g}"


def _entry(name, unit, estimate, extra):
    entry = {"name": name, "unit": unit, "value": significant(estimate.median)}
    text = range_text(estimate)
    if text is not None:
        entry["range"] = text
    entry["extra"] = extra
    return entry


def configuration_entries(results):
    """([entries], [configuration ids left out]) for every configuration of a results file."""
    commit = results.context.get("git_commit") or "unknown"
    entries, left_out = [], []
    for cell in results.cells:
        if len(cell.runs) == len(cell.skipped_runs):
            continue  # not measured here (not built, backend missing): nothing to track
        name = configuration_id(cell.runs[0].id)
        cpu = metrics.cell_figure(cell, metrics.CPU_PER_LINE)
        if cpu.estimate is None:
            left_out.append(f"{name} ({cpu.note})")
            continue
        runs = len(cell.runs) - len(cell.skipped_runs)
        extra = "\n".join([
            f"lines/s: {metrics.cell_figure(cell, metrics.THROUGHPUT).format(metrics.THROUGHPUT)}",
            f"p99: {metrics.cell_figure(cell, metrics.P99).format(metrics.P99)}",
            f"repetitions: {len(cell.ok_runs)}/{runs} ok",
            f"commit: {commit}",
        ])
        entries.append(_entry(name, CPU_UNIT, cpu.estimate, extra))
    return entries, left_out


def micro_entries(doc):
    """([entries], [benchmarks left out]) of a Google Benchmark JSON document."""
    rows = doc.get("benchmarks") if isinstance(doc, dict) else None
    if not isinstance(rows, list):
        raise ValueError("no \"benchmarks\" list: not a Google Benchmark JSON file")
    groups = {}
    for row in rows:
        if isinstance(row, dict) and isinstance(row.get("name"), str):
            groups.setdefault(row.get("run_name", row["name"]), []).append(row)
    entries, left_out = [], []
    for name, group in groups.items():
        entry = _micro_entry(name, group)
        if entry is None:
            left_out.append(f"{MICRO_PREFIX}{name} ({_error_of(group)})")
        else:
            entries.append(entry)
    return entries, left_out


def _error_of(group):
    return next((r.get("error_message") for r in group if r.get("error_occurred")), "no timing")


def _micro_entry(name, group):
    unit = f"{group[0].get('time_unit', 'ns')}/iter"
    iterations = [r for r in group if r.get("run_type") != "aggregate" and not r.get("error_occurred")]
    if iterations:
        estimate = stats.estimate([r["cpu_time"] for r in iterations])
        extra = f"median of {len(iterations)} repetitions, CPU time per iteration"
        return _entry(MICRO_PREFIX + name, unit, estimate, extra)
    aggregates = {r.get("aggregate_name"): r for r in group if r.get("run_type") == "aggregate"}
    if "median" not in aggregates:
        return None
    entry = {"name": MICRO_PREFIX + name, "unit": unit, "value": significant(aggregates["median"]["cpu_time"])}
    if "stddev" in aggregates:
        entry["range"] = f"± {significant(aggregates['stddev']['cpu_time'], 2):g}"
    entry["extra"] = (f"median of {aggregates['median'].get('repetitions', '?')} repetitions (aggregates only), "
                      f"CPU time per iteration; range: the standard deviation")
    return entry


def export(results, micro_doc=None):
    """(entries, left out): the configurations, then the micro-benchmarks. Raises
    ValueError when two entries would share a name (the action would mix them up)."""
    entries, left_out = configuration_entries(results)
    if micro_doc is not None:
        more, missing = micro_entries(micro_doc)
        entries += more
        left_out += missing
    seen = set()
    for entry in entries:
        if entry["name"] in seen:
            raise ValueError(f"two entries named {entry['name']!r}")
        seen.add(entry["name"])
    return entries, left_out
