#!/usr/bin/env python3
"""Charts and tables from a rot13-micro run (Google Benchmark --benchmark_out JSON).

Usage: scripts/plot_micro.py MICRO.json [--out DIR] [--time cpu|real]

Writes, in DIR (default: the JSON's directory):
  dispatch.png, dispatch.svg  cost of one event vs N (log-log), one line per backend,
                              one panel per number of active pairs
  micro.md                    the tables: dispatch, setup, rot13 kernels, framing,
                              histogram, and what was skipped and why
and prints micro.md on stdout.

Every figure is the median over the run's repetitions (--benchmark_repetitions) of the
per-repetition value; the chart's error bars span the middle half of the repetitions
(25th to 75th percentile).
Times are CPU time by default (the thread's user + system time, which a machine shared
with other work disturbs less than wall-clock time); --time real uses wall-clock time.

The tables need only the standard library. The chart needs matplotlib: when this Python
lacks it, the script re-runs itself with one that has it (/usr/bin/python3 first), and
when none has it, it writes the tables, says so and exits with status 3.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from collections import defaultdict

MATPLOTLIB_MISSING_STATUS = 3
REEXEC_MARK = "ROT13_PLOT_MICRO_REEXEC"

# Names are a contract (docs/micro-benchmarks.md); anything else in the file is ignored.
NAME_PATTERNS = {
    "dispatch": re.compile(r"^dispatch/(?P<backend>[^/]+)/fds:(?P<fds>\d+)/active:(?P<active>\d+)$"),
    "setup": re.compile(r"^setup/(?P<backend>[^/]+)/fds:(?P<fds>\d+)$"),
    "rot13": re.compile(r"^rot13/(?P<kernel>[^/]+)/bytes:(?P<bytes>\d+)$"),
    "framing": re.compile(r"^framing/(?P<method>[^/]+)$"),
    "histogram": re.compile(r"^histogram/(?P<operation>record|merge)$"),
}

# Chart and table order; backends not listed here follow in alphabetical order.
BACKEND_ORDER = ["select", "poll", "epoll", "io_uring", "libevent-select", "libevent-poll",
                 "libevent-epoll", "asio"]
KERNEL_ORDER = ["branchy", "table", "autovec", "sse2"]

TO_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def python_with_matplotlib():
    """The first interpreter other than this one that can import matplotlib, or None."""
    here = os.path.realpath(sys.executable)
    candidates = ["/usr/bin/python3", shutil.which("python3"), shutil.which("python")]
    for candidate in candidates:
        if not candidate or not os.access(candidate, os.X_OK) or os.path.realpath(candidate) == here:
            continue
        probe = subprocess.run([candidate, "-c", "import matplotlib"], capture_output=True)
        if probe.returncode == 0:
            return candidate
    return None


def have_matplotlib():
    try:
        import matplotlib  # noqa: F401
        return True
    except ImportError:
        return False


class Run:
    """One benchmark across its repetitions: the per-repetition values of one quantity."""

    def __init__(self, name, kind, params):
        self.name = name
        self.kind = kind
        self.params = params
        self.values = []      # one per repetition, in the unit the table uses
        self.error = None     # the message of a skipped benchmark

    @property
    def median(self):
        return statistics.median(self.values) if self.values else None

    @property
    def quartiles(self):
        """(25th, 75th) percentile of the repetitions; the median twice for one value."""
        if len(self.values) < 2:
            return self.median, self.median
        q1, _, q3 = statistics.quantiles(self.values, n=4, method="inclusive")
        return q1, q3


def per_iteration_ns(entry, clock):
    return entry[f"{clock}_time"] * TO_NS[entry.get("time_unit", "ns")]


def per_iteration_amount(entry, counter):
    """Items or bytes one iteration handled. The library divides its rate counters by CPU
    time, so multiplying back by CPU time gives the amount whichever clock is charted."""
    return entry[counter] * entry["cpu_time"] * TO_NS[entry.get("time_unit", "ns")] / 1e9


def value_of(kind, params, entry, clock):
    """The number a table shows for one repetition."""
    ns = per_iteration_ns(entry, clock)
    if kind == "dispatch":
        return ns / params["active"]                  # ns per event
    if kind == "setup":
        return ns / entry.get("setups_per_iter", 1) / 1e3   # us to register N fds once
    if kind in ("rot13", "framing"):
        return per_iteration_amount(entry, "bytes_per_second") / ns  # bytes per ns = GB/s
    if kind == "histogram":
        return ns                                     # ns per record, ns per merge
    raise ValueError(kind)


def load_runs(data, clock):
    """Groups the JSON's entries by benchmark; returns {name: Run}."""
    entries = data.get("benchmarks", [])
    # Prefer the individual repetitions; a file written with
    # --benchmark_report_aggregates_only has only aggregates, then use their medians.
    have_iterations = {e.get("run_name", e["name"]) for e in entries if e.get("run_type") != "aggregate"}
    runs = {}
    for entry in entries:
        name = entry.get("run_name", entry["name"])
        if entry.get("run_type") == "aggregate":
            if name in have_iterations or entry.get("aggregate_name") != "median":
                continue
        for kind, pattern in NAME_PATTERNS.items():
            match = pattern.match(name)
            if match:
                break
        else:
            continue
        params = {k: (int(v) if v.isdigit() else v) for k, v in match.groupdict().items()}
        run = runs.setdefault(name, Run(name, kind, params))
        if entry.get("error_occurred"):
            run.error = entry.get("error_message", "skipped")
            continue
        run.values.append(value_of(kind, params, entry, clock))
    return runs


def ordered(names, preferred):
    return [n for n in preferred if n in names] + sorted(n for n in names if n not in preferred)


def fmt(value, digits=0):
    if value is None:
        return "skipped"
    return f"{value:,.{digits}f}"


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if i else "---" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def grid(runs, kind, row_key, col_key, where, row_order, digits):
    """A table with one row per row_key value and one column per col_key value."""
    selected = [r for r in runs.values() if r.kind == kind and all(r.params[k] == v for k, v in where.items())]
    if not selected:
        return None
    rows = ordered({r.params[row_key] for r in selected}, row_order)
    cols = sorted({r.params[col_key] for r in selected})
    cell = {(r.params[row_key], r.params[col_key]): r for r in selected}
    body = []
    for row in rows:
        line = [str(row)]
        for col in cols:
            run = cell.get((row, col))
            line.append("" if run is None else fmt(run.median, digits))
        body.append(line)
    return cols, body


def context_lines(data, clock, repetitions):
    ctx = data.get("context", {})
    caches = ", ".join(f"L{c['level']} {c['type']} {c['size'] // 1024} KiB" for c in ctx.get("caches", []))
    lines = [
        f"- date: {ctx.get('date', '?')}, host: {ctx.get('host_name', '?')}",
        f"- CPU: {ctx.get('num_cpus', '?')} x {ctx.get('mhz_per_cpu', '?')} MHz; caches: {caches or '?'}",
        f"- load average at start: {', '.join(f'{x:.2f}' for x in ctx.get('load_avg', [])) or '?'}",
        f"- open-file limit: {ctx.get('nofile_soft_limit', '?')} (hard {ctx.get('nofile_hard_limit', '?')}), "
        f"FD_SETSIZE {ctx.get('fd_setsize', '?')}",
        f"- Google Benchmark library build: {ctx.get('library_build_type', '?')}",
        f"- every figure: median of {repetitions} repetition(s), {clock} time",
    ]
    return lines


def write_markdown(data, runs, clock, chart_file):
    repetitions = max((len(r.values) for r in runs.values()), default=0)
    out = ["# rot13-micro results", ""] + context_lines(data, clock, repetitions) + [""]

    dispatch_actives = sorted({r.params["active"] for r in runs.values() if r.kind == "dispatch"})
    if dispatch_actives:
        out += ["## Dispatch: cost of one event (ns)", "",
                "One write into an active socket pair and its share of the dispatch that reads it: "
                "time per iteration / active pairs. Columns: N, the socket pairs registered.", ""]
        if chart_file:
            out += [f"![dispatch cost per event vs N]({chart_file})", "",
                    "*Cost of one event against the number of registered socket pairs, log-log; "
                    "bars span the middle half of the repetitions.*", ""]
        for active in dispatch_actives:
            cols, body = grid(runs, "dispatch", "backend", "fds", {"active": active}, BACKEND_ORDER, 0)
            out += [f"### {active} active", "",
                    markdown_table(["backend"] + [f"N={c:,}" for c in cols], body), ""]

    table = grid(runs, "setup", "backend", "fds", {}, BACKEND_ORDER, 1)
    if table:
        cols, body = table
        out += ["## Setup: registering N fds (us)", "",
                "Create the mechanism, register N readers, one empty dispatch; teardown not timed.", "",
                markdown_table(["backend"] + [f"N={c:,}" for c in cols], body), ""]

    table = grid(runs, "rot13", "kernel", "bytes", {}, KERNEL_ORDER, 2)
    if table:
        cols, body = table
        out += ["## ROT13 kernels (GB/s)", "", markdown_table(["kernel"] + [f"{c:,} B" for c in cols], body), ""]

    framing = [r for r in runs.values() if r.kind == "framing"]
    if framing:
        body = [[r.params["method"], fmt(r.median, 2)] for r in sorted(framing, key=lambda r: r.name)]
        out += ["## Framing: finding line ends in a 16 KiB buffer (GB/s)", "",
                markdown_table(["method", "GB/s"], body), ""]

    histogram = [r for r in runs.values() if r.kind == "histogram"]
    if histogram:
        body = [[r.params["operation"], fmt(r.median, 1)] for r in sorted(histogram, key=lambda r: r.name)]
        out += ["## Histogram (ns per operation)", "", markdown_table(["operation", "ns"], body), ""]

    skipped = defaultdict(list)
    for run in runs.values():
        if run.error and not run.values:
            skipped[run.error].append(run.name)
    if skipped:
        out += ["## Skipped", ""]
        for message, names in sorted(skipped.items()):
            out.append(f"- {message}: " + ", ".join(f"`{n}`" for n in sorted(names)))
        out.append("")
    return "\n".join(out)


def plot_dispatch(runs, out_dir, clock):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator

    actives = sorted({r.params["active"] for r in runs.values() if r.kind == "dispatch" and r.values})
    if not actives:
        return None
    backends = ordered({r.params["backend"] for r in runs.values() if r.kind == "dispatch"}, BACKEND_ORDER)
    colors = {b: plt.get_cmap("tab10")(i % 10) for i, b in enumerate(backends)}
    fig, axes = plt.subplots(1, len(actives), figsize=(6 * len(actives), 4.8), sharex=True, sharey=True,
                             squeeze=False)
    plain = FuncFormatter(lambda value, _: f"{value:,.0f}")
    for ax, active in zip(axes[0], actives):
        for backend in backends:
            points = sorted((r.params["fds"], r) for r in runs.values()
                            if r.kind == "dispatch" and r.values and r.params["backend"] == backend
                            and r.params["active"] == active)
            if not points:
                continue
            xs = [n for n, _ in points]
            medians = [r.median for _, r in points]
            low = [m - r.quartiles[0] for m, (_, r) in zip(medians, points)]
            high = [r.quartiles[1] - m for m, (_, r) in zip(medians, points)]
            ax.errorbar(xs, medians, yerr=[low, high], marker="o", markersize=4, capsize=2,
                        label=backend, color=colors[backend])
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(plain)
            axis.set_minor_formatter(FuncFormatter(lambda value, _: ""))
        ax.set_title(f"{active} active pair{'s' if active != 1 else ''} per dispatch")
        ax.set_xlabel("registered socket pairs N")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel(f"cost per event (ns, {clock} time, median)")
    axes[0][-1].legend(fontsize="small")
    fig.suptitle("Dispatch cost per event vs N")
    fig.tight_layout()
    for ext in ("png", "svg"):
        fig.savefig(os.path.join(out_dir, f"dispatch.{ext}"), dpi=150)
    plt.close(fig)
    return "dispatch.png"


def main(argv):
    parser = argparse.ArgumentParser(description="Charts and tables from a rot13-micro JSON file.")
    parser.add_argument("json", help="the --benchmark_out file of rot13-micro")
    parser.add_argument("--out", help="output directory (default: the JSON's directory)")
    parser.add_argument("--time", choices=["cpu", "real"], default="cpu",
                        help="which clock the figures use (default: cpu)")
    args = parser.parse_args(argv)

    if not have_matplotlib() and not os.environ.get(REEXEC_MARK):
        other = python_with_matplotlib()
        if other:
            os.environ[REEXEC_MARK] = "1"
            os.execv(other, [other, os.path.abspath(__file__)] + argv)

    with open(args.json) as f:
        data = json.load(f)
    out_dir = args.out or os.path.dirname(os.path.abspath(args.json))
    os.makedirs(out_dir, exist_ok=True)
    runs = load_runs(data, args.time)

    chart = None
    status = 0
    if have_matplotlib():
        chart = plot_dispatch(runs, out_dir, args.time)
    else:
        print("plot_micro.py: no Python with matplotlib found (tried this one, /usr/bin/python3 and python3 "
              "on PATH): writing the tables without the chart. Debian: apt-get install python3-matplotlib",
              file=sys.stderr)
        status = MATPLOTLIB_MISSING_STATUS

    text = write_markdown(data, runs, args.time, chart)
    with open(os.path.join(out_dir, "micro.md"), "w") as f:
        f.write(text)
    print(text)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
