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


def _load_or_exit(program, path):
    from .results import ResultsError, load_results
    try:
        return load_results(path)
    except ResultsError as e:
        sys.stderr.write(f"{program}: error: {e}\n")
        sys.exit(USAGE_STATUS)


def main_report(argv=None):
    program = "report"
    parser = _Parser(prog=program, description=(
        "Writes DIR/report.md and its charts (DIR/charts/*.png and *.svg) from a rot13-bench results "
        "file: throughput, latency, idle scaling, CPU and memory per variant and backend, knee searches, with "
        "medians, 95% bootstrap intervals, the noise floor of the suite's A/A pair, and claims only where a "
        "paired ratio's interval excludes 1. docs/charts.md explains every chart."))
    parser.add_argument("results", metavar="RESULTS.json", help="results file (or the directory holding results.json)")
    parser.add_argument("--out", metavar="DIR", help="output directory (default: the results file's directory)")
    parser.add_argument("--micro", metavar="MICRO.json",
                        help="also chart a rot13-micro run (scripts/plot_micro.py) and link it from the report")
    args = parser.parse_args(argv)
    _require_plotting(program)
    from .report import write_report
    results = _load_or_exit(program, args.results)
    out_dir = args.out or os.path.dirname(os.path.abspath(results.path))
    micro = _run_micro(args.micro, out_dir, program) if args.micro else None
    path, charts = write_report(results, out_dir, micro=micro)
    sys.stderr.write(f"{program}: {len(results.runs)} runs, {len(charts)} charts\n")
    print(path)
    return 0


def main_compare(argv=None):
    program = "compare"
    parser = _Parser(prog=program, description=(
        "Compares rot13-bench results files. Two files (two OSes, commits or machines): configurations matched "
        "by server, backend and load; medians, ratios B/A with 95%% bootstrap intervals, overlay charts; "
        "configurations in one file only are listed; two files from different OSes also get the cross-OS "
        "sections. Three or more (one per OS, e.g. a CI matrix): the cross-OS report, the same configurations "
        "side by side and each OS's best native mechanism, with a chart per mechanism family. Writes "
        "DIR/compare.md and DIR/charts/."))
    parser.add_argument("files", nargs="+", metavar="RESULTS",
                        help="results files (or directories holding results.json); the first is the baseline")
    parser.add_argument("--out", metavar="DIR",
                        help="output directory (default: compare-<first directory>-vs-<second directory> here)")
    parser.add_argument("--labels", nargs="+", metavar="NAME",
                        help="names of the files, one each (default: from what differs: OS, host, kernel, commit)")
    parser.add_argument("--summary", metavar="FILE",
                        help="also append a short Markdown summary for a GitHub job summary ($GITHUB_STEP_SUMMARY)")
    parser.add_argument("--image-base-url", metavar="URL",
                        help="where DIR is published (e.g. GitHub Pages): the summary then embeds the key chart")
    args = parser.parse_args(argv)
    if len(args.files) < 2:
        parser.error("the following arguments are required: B.json (at least two results files)")
    if args.labels and len(args.labels) != len(args.files):
        parser.error(f"--labels: {len(args.labels)} names for {len(args.files)} files")
    _require_plotting(program)
    from . import crossos
    from .compare import write_compare
    results = [_load_or_exit(program, path) for path in args.files]

    def name(r):
        return os.path.basename(os.path.dirname(os.path.abspath(r.path))) or "results"
    out_dir = args.out or "compare-" + "-vs-".join(name(r) for r in results)
    labels = tuple(args.labels) if args.labels else None
    if len(results) == 2:
        path, charts, sides = write_compare(results[0], results[1], out_dir, labels=labels)
    else:
        path, charts, sides = crossos.write_cross_os(results, out_dir, labels=labels)
    if args.summary:
        with open(args.summary, "a", encoding="utf-8") as f:
            f.write(crossos.summary_markdown(sides, charts, os.path.basename(path), args.image_base_url) + "\n")
    sys.stderr.write(f"{program}: {len(charts)} charts\n")
    print(path)
    return 0


def _write_output(path, text):
    """Writes text to path, or to stdout for None or "-"."""
    if path in (None, "-"):
        sys.stdout.write(text)
        return
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main_export(argv=None):
    program = "export-benchmark"
    parser = _Parser(prog=program, description=(
        "Writes github-action-benchmark's customSmallerIsBetter JSON from a rot13-bench results file: one "
        "entry per configuration (server CPU µs per line, median, with its 95% interval as range; lines/s, p99 "
        "and the commit in extra) and, with --micro, one per micro-benchmark (the median of its repetitions)."))
    parser.add_argument("results", metavar="RESULTS", help="results file (or the directory holding results.json)")
    parser.add_argument("--micro", metavar="MICRO.json", help="a rot13-micro (Google Benchmark) JSON file")
    parser.add_argument("-o", "--output", metavar="OUT", help="output file (default: standard output)")
    args = parser.parse_args(argv)
    import json
    from .export import export
    results = _load_or_exit(program, args.results)
    micro = None
    if args.micro:
        try:
            with open(args.micro, encoding="utf-8") as f:
                micro = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            sys.stderr.write(f"{program}: error: --micro {args.micro}: {e}\n")
            return USAGE_STATUS
    try:
        entries, left_out = export(results, micro)
    except ValueError as e:
        sys.stderr.write(f"{program}: error: {e}\n")
        return USAGE_STATUS
    for name in left_out:
        sys.stderr.write(f"{program}: left out (no value): {name}\n")
    _write_output(args.output, json.dumps(entries, indent=1, ensure_ascii=False) + "\n")
    sys.stderr.write(f"{program}: {len(entries)} entries\n")
    return 0


def main_threshold(argv=None):
    program = "alert-threshold"
    parser = _Parser(prog=program, description=(
        "Prints github-action-benchmark's alert-threshold (e.g. 130%%) derived from the noise of this runner: "
        "the 95th percentile of |ln(A2/A)| over the rounds of the results files' A/A pair (one server under two "
        "labels, docs/harness.md), for server CPU per line; several files pool their rounds. How it was found "
        "goes to standard error. With too few rounds the status is 2, as without a pair; --aa-suite then "
        "writes a suite that measures enough more (its presence tells the two apart)."))
    parser.add_argument("results", nargs="+", metavar="RESULTS",
                        help="results file (or the directory holding results.json); more files pool their rounds")
    parser.add_argument("--github-output", metavar="FILE",
                        help="also append alert-threshold=N%% to this file (the step's $GITHUB_OUTPUT)")
    parser.add_argument("--aa-suite", metavar="OUT.json",
                        help="when the A/A pair has too few rounds, write a suite of just the pair that measures "
                             "enough more (run it, then pass its results as a second RESULTS)")
    args = parser.parse_args(argv)
    import json
    from . import noise
    results = [_load_or_exit(program, path) for path in args.results]
    try:
        percent, how = noise.alert_threshold(results)
    except noise.TooFewRounds as e:
        sys.stderr.write(f"{program}: error: {e}\n")
        if args.aa_suite:
            _write_output(args.aa_suite, json.dumps(noise.aa_suite(results[0], e.rounds), indent=1) + "\n")
            sys.stderr.write(f"{program}: wrote {args.aa_suite}: run it with rot13-bench and pass its results too\n")
        return USAGE_STATUS
    except noise.NoNoiseMeasurement as e:
        sys.stderr.write(f"{program}: error: {e}\n")
        return USAGE_STATUS
    sys.stderr.write(f"{program}: {how}\n")
    if args.github_output:
        with open(args.github_output, "a", encoding="utf-8") as f:
            f.write(f"alert-threshold={percent}%\n")
    print(f"{percent}%")
    return 0


CONFIRMED_STATUS = 1


def main_regressions(argv=None):
    program = "check-regressions"
    parser = _Parser(prog=program, description=(
        "Compares an export (scripts/export-benchmark) with the baseline's (the previous commit's export, or "
        "github-action-benchmark's data.js): lists the configurations whose value exceeds THRESHOLD times the "
        "baseline's and, with --rerun-suite, writes a suite that runs just those once more. With --rerun "
        "(the export of that rerun) it fails, status 1, only for the suspects the rerun confirms."))
    parser.add_argument("current", metavar="CURRENT.json", help="this run's export")
    parser.add_argument("baseline", metavar="BASELINE", help="the baseline's export, or the action's data.js")
    parser.add_argument("--threshold", required=True, help="e.g. 130%% (scripts/alert-threshold prints it)")
    parser.add_argument("--set", dest="benchmark_set", metavar="NAME",
                        help="the benchmark set of a data.js holding several (the action's `name`)")
    parser.add_argument("--results", metavar="RESULTS", help="this run's results (for --rerun-suite)")
    parser.add_argument("--rerun-suite", metavar="OUT.json",
                        help="write a suite of the suspects, only when there are some")
    parser.add_argument("--rerun", metavar="RERUN.json", help="the export of the rerun: confirm or clear")
    parser.add_argument("--github-output", metavar="FILE", help="append suspects=N (and confirmed=N) here")
    args = parser.parse_args(argv)
    if args.rerun_suite and not args.results:
        parser.error("--rerun-suite needs --results (the suite and configurations to rerun)")
    from . import regressions as rg
    try:
        threshold = rg.parse_threshold(args.threshold)
        current, baseline = rg.load_export(args.current), rg.load_export(args.baseline, args.benchmark_set)
        rerun = rg.load_export(args.rerun) if args.rerun else None
    except rg.ExportError as e:
        sys.stderr.write(f"{program}: error: {e}\n")
        return USAGE_STATUS
    found = rg.suspects(current, baseline, threshold)
    print(f"{program}: {len(found)} of {len(current.values)} entries exceed {threshold:.2f}× the baseline"
          + (f" (commit {baseline.commit[:12]})" if baseline.commit else ""))
    outputs = [f"suspects={len(found)}"]
    if rerun is None:
        status = _list_suspects(program, args, found, baseline)
    else:
        confirmed = _confirm_suspects(found, rerun, baseline, threshold)
        outputs.append(f"confirmed={confirmed}")
        status = CONFIRMED_STATUS if confirmed else 0
    if args.github_output:
        with open(args.github_output, "a", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in outputs))
    return status


def _list_suspects(program, args, found, baseline):
    """The first pass: prints the suspects and writes the rerun suite; returns the status."""
    import json
    from . import regressions as rg
    for r in found:
        print(f"  suspect {rg.describe(r, baseline.commit)}")
    if not (found and args.rerun_suite):
        return 0
    results = _load_or_exit(program, args.results)
    try:
        suite = rg.rerun_suite(results, [r.name for r in found])
    except rg.ExportError as e:
        sys.stderr.write(f"{program}: error: {e}\n")
        return USAGE_STATUS
    _write_output(args.rerun_suite, json.dumps(suite, indent=1) + "\n")
    print(f"{program}: wrote {args.rerun_suite}: rerun it (rot13-bench run {args.rerun_suite}), export the "
          f"rerun and call this again with --rerun")
    return 0


def _confirm_suspects(found, rerun, baseline, threshold):
    """The second pass: prints each suspect's verdict; returns how many the rerun confirmed."""
    from . import regressions as rg
    verdicts = rg.confirm(found, rerun, baseline, threshold)
    for v in verdicts:
        again = f"rerun {v.rerun.ratio:.2f}×" if v.rerun is not None else "the rerun has no value (failed?)"
        word = "REGRESSION (confirmed)" if v.confirmed else "not confirmed, noise"
        print(f"  {word}: {rg.describe(v.suspect, baseline.commit)}; {again}")
    return sum(v.confirmed for v in verdicts)
