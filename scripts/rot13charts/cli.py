"""The command lines of scripts/report and scripts/compare.

Exit status: 0 written; 1 an unexpected error (a bug: the traceback is printed);
2 usage error or an unusable results file (missing, not JSON, not a results file; the
message says which and where); 3 this Python lacks numpy or matplotlib.
"""

import argparse
import os
import subprocess
import sys

USAGE_STATUS = 2
NO_MATPLOTLIB_STATUS = 3


def _require_plotting(program):
    try:
        import matplotlib  # noqa: F401  (only whether it imports)
        import numpy  # noqa: F401
    except ImportError as e:
        sys.stderr.write(f"{program}: {sys.executable} cannot import {e.name}: charts need numpy and matplotlib "
                         f"(Debian: apt-get install python3-numpy python3-matplotlib), or run it with "
                         f"/usr/bin/python3\n")
        sys.exit(NO_MATPLOTLIB_STATUS)


class _Parser(argparse.ArgumentParser):
    """argparse, with the error status documented above (argparse's own is also 2)."""

    def error(self, message):
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(USAGE_STATUS)


def _run_micro(micro_json, out_dir, program):
    """Runs scripts/plot_micro.py on a rot13-micro JSON into out_dir/micro; returns links or None."""
    script = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "plot_micro.py")
    target = os.path.join(out_dir, "micro")
    if not os.path.isfile(micro_json):
        sys.stderr.write(f"{program}: error: --micro {micro_json}: no such file\n")
        sys.exit(USAGE_STATUS)
    done = subprocess.run([sys.executable, script, micro_json, "--out", target], stdout=subprocess.DEVNULL)
    if done.returncode != 0 or not os.path.isfile(os.path.join(target, "dispatch.png")):
        sys.stderr.write(f"{program}: warning: plot_micro.py failed on {micro_json} (status {done.returncode}); "
                         f"the report leaves the micro-benchmarks out\n")
        return None
    return {"png": "micro/dispatch.png", "md": "micro/micro.md"}


def main_report(argv=None):
    program = "report"
    parser = _Parser(prog=program, description=(
        "Writes DIR/report.md and its charts (DIR/charts/*.png and *.svg) from a rot13-bench results "
        "file: throughput, latency, idle scaling, CPU and memory per variant and backend, with medians, "
        "95% bootstrap intervals and claims only where the intervals do not overlap. docs/charts.md "
        "explains every chart."))
    parser.add_argument("results", metavar="RESULTS.json", help="results file (or the directory holding results.json)")
    parser.add_argument("--out", metavar="DIR", help="output directory (default: the results file's directory)")
    parser.add_argument("--micro", metavar="MICRO.json",
                        help="also chart a rot13-micro run (scripts/plot_micro.py) and link it from the report")
    args = parser.parse_args(argv)
    _require_plotting(program)
    from .report import write_report
    from .results import ResultsError, load_results
    try:
        results = load_results(args.results)
    except ResultsError as e:
        sys.stderr.write(f"{program}: error: {e}\n")
        return USAGE_STATUS
    out_dir = args.out or os.path.dirname(os.path.abspath(results.path))
    micro = _run_micro(args.micro, out_dir, program) if args.micro else None
    path, charts = write_report(results, out_dir, micro=micro)
    sys.stderr.write(f"{program}: {len(results.runs)} runs, {len(charts)} charts\n")
    print(path)
    return 0


def main_compare(argv=None):
    program = "compare"
    parser = _Parser(prog=program, description=(
        "Compares two rot13-bench results files (two OSes, commits or machines): configurations matched "
        "by server, backend and load; medians, ratios B/A with 95% bootstrap intervals, overlay charts; "
        "configurations in one file only are listed. Writes DIR/compare.md and DIR/charts/."))
    parser.add_argument("a", metavar="A.json", help="the baseline results file")
    parser.add_argument("b", metavar="B.json", help="the results file compared with it")
    parser.add_argument("--out", metavar="DIR",
                        help="output directory (default: compare-<A's directory>-vs-<B's directory> here)")
    parser.add_argument("--labels", nargs=2, metavar=("A", "B"),
                        help="names of the two sides (default: from what differs: host, OS, kernel, commit)")
    args = parser.parse_args(argv)
    _require_plotting(program)
    from .compare import write_compare
    from .results import ResultsError, load_results
    try:
        a, b = load_results(args.a), load_results(args.b)
    except ResultsError as e:
        sys.stderr.write(f"{program}: error: {e}\n")
        return USAGE_STATUS

    def name(results):
        return os.path.basename(os.path.dirname(os.path.abspath(results.path))) or "results"
    out_dir = args.out or f"compare-{name(a)}-vs-{name(b)}"
    path, charts = write_compare(a, b, out_dir, labels=tuple(args.labels) if args.labels else None)
    sys.stderr.write(f"{program}: {len(charts)} charts\n")
    print(path)
    return 0
