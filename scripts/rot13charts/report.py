"""report.md for one results file: context, method, servers, failures, charts, claims, tables.

write_report() draws every chart into DIR/charts/ and writes DIR/report.md linking them.
The text is generated only from the file, so the same file gives the same report.
"""

import os

from . import efficiency, idle, knee, latency, machine, metrics, noise, paired, plotting, precision, stats, throughput
from .markdown import md, table
from .results import families

# The comparisons the chapter asks about, as (first, second) series labels: "is first
# faster than second?". Pairs whose servers are not both in the file are left out.
CLAIM_PAIRS = [
    ("threads", "fork"), ("threadpool", "threads"), ("epoll", "threads"),
    ("poll", "select"), ("epoll", "poll"), ("epoll", "select"), ("kqueue", "poll"),
    ("libevent-event/epoll", "epoll"), ("libevent-event/kqueue", "kqueue"),
    ("libevent-bufferevent/epoll", "libevent-event/epoll"),
    ("libevent-event/poll", "libevent-event/select"), ("libevent-event/epoll", "libevent-event/poll"),
    ("libevent-bufferevent/poll", "libevent-bufferevent/select"),
    ("libevent-bufferevent/epoll", "libevent-bufferevent/poll"),
    ("asio", "epoll"), ("io_uring", "epoll"),
]
CLAIM_METRICS = (metrics.THROUGHPUT, metrics.P99, metrics.CPU_PER_LINE)
# A knee search's other figures are at the rate each server's search chose: only its knee
# rate compares servers.
KNEE_CLAIM_METRICS = (knee.KNEE_RATE,)

SECTIONS = (("throughput", "Throughput"), ("latency", "Latency"), ("idle", "Idle connections"),
            ("efficiency", "CPU and memory"))


def _value(obj, *path):
    for key in path:
        if not isinstance(obj, dict) or obj.get(key) is None:
            return None
        obj = obj[key]
    if isinstance(obj, dict):
        return ", ".join(f"{k} {md(v)}" for k, v in obj.items() if v is not None) or None
    if isinstance(obj, list):
        return "–".join(str(v) for v in obj)
    return obj


# ---- charts ------------------------------------------------------------------------------

def draw_charts(results, out_dir):
    """Every chart the file's families call for, in report order, then the knee charts
    (section "knee", shown in the report's Knee section)."""
    styles = plotting.Styles(results.series)
    context = results.context
    charts = []
    for family in families(results.cells):
        if family.mode == "open":
            makers = (latency.offered_load_chart, efficiency.cpu_chart)
        elif family.sweep == "connections":
            makers = (throughput.throughput_chart, latency.p99_chart, latency.spectrum_chart,
                      efficiency.cpu_chart, efficiency.rss_chart)
        elif family.sweep == "idle":
            makers = (idle.idle_chart, efficiency.rss_chart)
        else:
            makers = (throughput.throughput_chart, latency.p99_chart, efficiency.cpu_chart)
        for make in makers:
            chart = make(family, styles, out_dir, context)
            if chart is not None:
                charts.append(chart)
    return charts + knee.knee_charts(results, styles, out_dir, context)


# ---- claims ------------------------------------------------------------------------------

def _figures(metric, a, b):
    return f"{metrics.cell_figure(a, metric).format(metric)} vs {metrics.cell_figure(b, metric).format(metric)}"


def numerator_better(comparison, higher_is_better):
    """For a ratio first/second whose interval excludes 1: whether first is the better one."""
    return (comparison.ratio.low > 1) == higher_is_better


def claim_sentence(metric, first, a, second, b, index):
    """first vs second by the paired rule (paired.py): (verdict, text). A finding is a
    sentence; no difference is "first vs second (within ±x %, paired, n rounds; figures)";
    without an interval there is no text."""
    comparison = paired.compare_cells(b, a, metric, index)  # first / second
    if comparison is None or not comparison.has_interval:
        return stats.UNKNOWN, None
    how = comparison.how()
    if not comparison.excludes_one():
        return stats.NO_DIFFERENCE, (f"{first} vs {second} ({paired.within_text(comparison)}, {how}; "
                                     f"{_figures(metric, a, b)})")
    if numerator_better(comparison, metric.higher_is_better):
        winner, loser, figures = first, second, _figures(metric, a, b)
        verdict = stats.FIRST_BETTER
    else:
        winner, loser, figures = second, first, _figures(metric, b, a)
        verdict = stats.SECOND_BETTER
    r = comparison.ratio
    return verdict, (f"**{winner}** {metric.better_phrase} **{loser}** ({figures}; {first} ÷ {second} = "
                     f"{r.median:.3f} [{r.low:.3f} – {r.high:.3f}], {how}).")


def best_sentence(metric, cells, index):
    """"Best X: **A** (figure); measurably better than B, C; within ±x % of D"."""
    rated = [(c, metrics.cell_figure(c, metric).estimate) for c in cells]
    rated = [(c, e) for c, e in rated if e is not None and e.has_interval]
    if len(rated) < 2:
        return None
    best, best_e = (max if metric.higher_is_better else min)(rated, key=lambda ce: ce[1].median)
    worse, same = [], []
    for c, _e in rated:
        if c is best:
            continue
        comparison = paired.compare_cells(c, best, metric, index)  # best / other
        if comparison is not None and comparison.excludes_one() and \
                numerator_better(comparison, metric.higher_is_better):
            worse.append(c.series.label)
        elif comparison is not None and comparison.has_interval and not comparison.excludes_one():
            same.append(f"{c.series.label} ({paired.within_text(comparison)})")
    text = f"Best {metric.title}: **{best.series.label}** ({metrics.format_value(metric, best_e)})"
    if worse and not same and len(worse) > 2:
        text += f"; measurably better than all {len(worse)} others"
    elif worse:
        text += f"; measurably better than {', '.join(worse)}"
    if same:
        text += f"; no measurable difference from {', '.join(same)}"
    return text + "."


def claims(results):
    """Markdown lines: per load point, the best series and the chapter's pairs."""
    index = paired.order_index(results)
    by_load = {}
    for c in results.cells:
        if c.ok_runs:
            # Keyed without the note ("kqueue", not "kqueue (libkqueue on Linux)") so that the
            # chapter's pairs find the variant; the sentences name it with its note.
            by_load.setdefault(c.load, {})[c.series.label_without_note] = c
    lines = []
    for load in sorted(by_load, key=lambda lp: lp.sort_key()):
        cells = by_load[load]
        sentences = []
        # In an open loop the throughput is the offered rate: nothing to compare.
        chosen = KNEE_CLAIM_METRICS if knee.is_knee(load) else \
            [m for m in CLAIM_METRICS if not (load.mode == "open" and m is metrics.THROUGHPUT)]
        for metric in chosen:
            best = best_sentence(metric, list(cells.values()), index)
            if best:
                sentences.append(best)
        for metric in chosen:
            same = []
            for first, second in CLAIM_PAIRS:
                if first in cells and second in cells:
                    a, b = cells[first], cells[second]
                    verdict, text = claim_sentence(metric, a.series.label, a, b.series.label, b, index)
                    if verdict == stats.NO_DIFFERENCE:
                        same.append(text)
                    elif text:
                        sentences.append(text)
            if same:
                sentences.append(f"No measurable difference in {metric.title}: {'; '.join(same)}.")
        if sentences:
            lines.append(f"### {load.describe()}\n")
            lines += [f"- {s}" for s in sentences]
            lines.append("")
    return lines


def noise_lines(results):
    """The noise floor the claims were made against: the A/A pair's minimum detectable
    difference per figure and load point, or a sentence saying the file has none."""
    floors = {m.key: noise.noise_floors(results, m) for m in noise.NOISE_METRICS}
    if not any(floors.values()):
        return ["This suite has **no A/A pair** (one server under two labels, docs/harness.md), so the report "
                "has no noise floor: it cannot say how large a difference this machine's noise hides at these "
                "repetitions and window. Read every \"within ±x %\" below as an upper bound of what was "
                "resolved, not as evidence that the designs are equal.", ""]
    lines = ["Measured by the suite's own A/A pair: the same server under two labels, interleaved with the "
             "rest. Its paired ratio A2/A should be 1; the **minimum detectable difference** (MDD) is how far "
             "its 95% interval reaches from 1. A difference between two servers smaller than that is reported "
             "as \"within ±x %\" (docs/charts.md).", ""]
    rows = []
    for metric in noise.NOISE_METRICS:
        for floor in floors[metric.key]:
            a, b = floor.pair
            for point in floor.points:
                c = point.comparison
                rows.append((metric.title, f"{a.label} / {b.label}", point.load.describe(),
                             paired.ratio_text(c) + f" ({c.how()})" if c is not None and c.has_interval
                             else "n/a (fewer than 3 rounds)",
                             f"±{point.mdd_percent:.1f} %" if point.mdd_percent is not None else "n/a"))
    lines += [table(("figure", "A/A pair", "load", "ratio A2/A [95% CI]", "MDD"), rows), ""]
    lines += [f"- **Noise floor, {metric.title}: {noise_floor_text(floors[metric.key])}**"
              for metric in noise.NOISE_METRICS if floors[metric.key]]
    return lines + [""]


def noise_floor_text(floors):
    parts = []
    for floor in floors:
        mdd = floor.mdd_percent
        if mdd is None:
            parts.append(f"none ({floor.pair[0].label}/{floor.pair[1].label} has fewer than 3 rounds)")
            continue
        low, high = floor.mdd_range
        parts.append(f"±{mdd:.1f} % (median over {len(floor.points)} load points, {low:.1f}–{high:.1f} %; "
                     f"{floor.pair[0].label} vs {floor.pair[1].label})")
    return "; ".join(parts)


def claims_preamble(results):
    """The rule, and the noise floor the claims are made against."""
    floors = noise.noise_floors(results, metrics.CPU_PER_LINE)
    floor = (f"Noise floor (server CPU per line, from the A/A pair): {noise_floor_text(floors)}."
             if floors else "Noise floor: none measured (no A/A pair in this suite; see above).")
    return ["Each comparison is a **paired ratio**: the two servers' runs of the same round of the interleaved "
            "order are divided, and the median of those ratios gets a 95% bootstrap interval over the rounds. "
            "A finding is stated only where that interval excludes 1; otherwise the two are \"within ±x %\", x "
            "from the interval. \"Unpaired\" marks comparisons the file cannot pair (no recorded run order): "
            "their ratio is of the two medians, each side resampled on its own.", "", floor, ""]


# ---- the report ------------------------------------------------------------------------------

def context_table(results):
    ctx, suite = results.context, results.suite
    rows = [
        ("date", _value(ctx, "date")),
        ("host", _value(ctx, "host")),
        ("OS", _value(ctx, "os")),
        ("kernel", _value(ctx, "kernel")),
        ("CPU", f"{_value(ctx, 'cpu_model') or 'n/a'}, {_value(ctx, 'cores') or 'n/a'} cores "
                f"(allowed: {_value(ctx, 'cpus_allowed') or _value(ctx, 'allowed_cpus') or 'n/a'})"),
        ("governor", _value(ctx, "governor")),
        ("compiler", f"{_value(ctx, 'compiler') or 'n/a'}, {_value(ctx, 'build_type') or 'n/a'} "
                     f"({_value(ctx, 'compiler_flags') or 'flags n/a'})"),
        ("libraries", _value(ctx, "libraries")),
        ("git commit", _value(ctx, "git_commit")),
        ("limits", _value(ctx, "limits")),
        ("pinning", _value(ctx, "pinning")),
        ("suite", f"{results.name} ({_value(suite, 'file') or 'file n/a'}), seed {_value(suite, 'seed') or 'n/a'}, "
                  f"{_value(suite, 'repetitions') or 'n/a'} repetitions, {_value(suite, 'duration_s') or 'n/a'} s "
                  f"window after {_value(suite, 'warmup_s') if _value(suite, 'warmup_s') is not None else 'n/a'} s "
                  f"warm-up"),
    ]
    warnings = ctx.get("warnings")
    if isinstance(warnings, list) and warnings:
        rows.append(("harness warnings", "; ".join(str(w) for w in warnings)))
    if isinstance(ctx.get("resumed"), list) and ctx["resumed"]:
        rows.append(("resumed", f"{len(ctx['resumed'])} time(s)"))
    return table(("", ""), rows)


def method_lines(results):
    sources = {metrics.cpu_us_per_line_source(r) for r in results.runs if r.status == "ok"} - {None}
    cpu = ("the server's user + system CPU time during the measured window (children included) divided by the "
           "lines answered in it")
    if "lifetime" in sources:
        cpu += ("; for runs without a window measurement, its whole-lifetime CPU time divided by the lines of "
                "the window and the warm-up (an overestimate: startup and shutdown are included)")
    cpu += (" (rot13-bench reads the window's CPU time from the kernel's per-thread nanosecond "
            "counters, /proc/PID/task/*/schedstat, so short windows are not rounded to clock ticks)")
    return [
        f"- Every figure is the **median over the repetitions** of a configuration (runs with status ok). "
        f"The interval in brackets is a **95% bootstrap confidence interval** of that median "
        f"({stats.BOOTSTRAP_RESAMPLES:,} resamples, fixed seed {stats.BOOTSTRAP_SEED}, so the report is "
        f"reproducible); with fewer than {stats.MIN_REPETITIONS_FOR_CI} repetitions there is no interval.",
        "- **Claims rule**: \"A is faster than B\" is written only where the paired ratio of A and B (their "
        "runs in the same round of the interleaved order, divided) has a 95% bootstrap interval that excludes "
        "1; otherwise the report says \"within ±x %\", x from that interval. Without intervals no claim is made.",
        "- With n repetitions the interval cannot be wider than the range of the repetitions, and the true "
        "median lies outside that range with probability 2·0.5ⁿ (25% for 3, 6% for 5): claims from 3 "
        "repetitions are hints, not findings.",
        f"- Latency is coordinated-omission corrected (measured from the intended send time in open loop). "
        f"A percentile p is shown only when at least {metrics.TAIL_SAMPLES} samples lie beyond it, so **p99 "
        f"needs {metrics.P99_MIN_SAMPLES:,} latency samples in every repetition**; otherwise it reads n/a.",
        f"- **CPU per line**: {cpu}.",
        f"- **RSS per connection**: growth of the server's resident memory (all its processes) under load "
        f"over its idle size, divided by the connections (active + idle); only from "
        f"{metrics.RSS_MIN_CONNECTIONS} connections up.",
        "- Failed runs are excluded from the medians and listed below; on the charts a cross marks a "
        "configuration whose runs all failed, a hollow red circle one where some failed or had errors, and the "
        "notes under the panels say which server and why. Charts with many servers have a panel per mechanism "
        "family (blocking, readiness, libevent, completion, other) and the best hand-written design as a thin "
        "grey line in the others.",
    ]


def servers_table(results):
    rows = []
    caps = {}
    for v in results.context.get("variants") or []:
        if isinstance(v, dict) and v.get("name"):
            caps[v["name"]] = v.get("cap")
    for s in results.series:
        runs = [r for r in results.runs if r.series == s]
        configs = len({r.load for r in runs})
        rows.append((s.name, s.backend or "–", s.variant or "custom command", configs,
                     sum(r.status == "ok" for r in runs), sum(r.status == "failed" for r in runs),
                     sum(r.status == "skipped" for r in runs), caps.get(s.variant or s.server) or "–"))
    lines = [table(("server", "backend", "variant", "configurations", "runs ok", "failed", "skipped",
                    "hard cap"), rows)]
    not_built = [v for v in results.context.get("variants") or []
                 if isinstance(v, dict) and v.get("built") is False]
    if not_built:
        lines.append("")
        lines.append("Not built on this machine: " + "; ".join(
            f"**{md(v.get('name'))}** ({md(v.get('reason'))})" for v in not_built) + ".")
    return lines


def problem_lines(results):
    lines = []
    failed = [r for r in results.runs if r.status == "failed"]
    skipped = [r for r in results.runs if r.status == "skipped"]
    erred = [r for r in results.runs if r.status == "ok" and (r.error_total or r.validation_failures)]
    if not results.runs:
        return ["The file has no runs yet (an interrupted suite? `rot13-bench run SUITE --out DIR --resume`)."]
    notes = {}
    for r in results.runs:
        for note in r.data.get("notes") or []:
            notes[str(note)] = notes.get(str(note), 0) + 1
    note_lines = ["### Harness notes", ""] + [f"- {md(n)} ({k} run{'s' * (k != 1)})" for n, k in notes.items()] + [""]
    if not (failed or skipped or erred):
        return ["Every run finished with status ok and no errors.", ""] + (note_lines if notes else [])
    if failed:
        lines += [f"### Failed runs ({len(failed)})", "",
                  table(("run", "server exit", "errors", "reason"),
                        [(f"`{r.id}`", r.exit, _errors_text(r), r.reason) for r in failed]), ""]
    if skipped:
        groups = {}
        for r in skipped:
            groups.setdefault((r.series.label, r.reason), []).append(r)
        lines += [f"### Skipped runs ({len(skipped)})", "",
                  table(("server", "runs", "reason"), [(label, len(rs), reason)
                                                      for (label, reason), rs in groups.items()]), ""]
    if erred:
        lines += [f"### Runs that finished with errors ({len(erred)})", "",
                  "These count in the medians; their errors are part of the result (e.g. connections "
                  "refused beyond a cap).", "",
                  table(("run", "errors", "validation failures"),
                        [(f"`{r.id}`", _errors_text(r), r.validation_failures) for r in erred]), ""]
    return lines + (note_lines if notes else [])


def _errors_text(run):
    errors = run.errors
    return ", ".join(f"{k} {v:,}" for k, v in sorted(errors.items())) if errors else "none"


def load_tables(results):
    by_load = {}
    for c in results.cells:
        if not knee.is_knee(c):  # the Knee section has its own tables
            by_load.setdefault(c.load, []).append(c)
    lines = []
    for load in sorted(by_load, key=lambda lp: lp.sort_key()):
        cells = by_load[load]
        columns = [metrics.THROUGHPUT, metrics.P50, metrics.P99, metrics.CPU_PER_LINE, metrics.RSS_PER_CONNECTION]
        if load.mode == "open":
            columns.append(metrics.ACHIEVED)
        rows = []
        for c in cells:
            runs = len(c.runs) - len(c.skipped_runs)
            if runs:
                figures = [metrics.cell_figure(c, m).format(m) for m in columns]
                rows.append([c.series.label, f"{len(c.ok_runs)}/{runs}"] + figures)
            else:
                rows.append([c.series.label, "skipped"] + ["–"] * len(columns))
        header = ["server", "runs ok", "throughput (lines/s)", "p50", "p99", "CPU/line", "RSS/conn"]
        if load.mode == "open":
            header.append("achieved/offered")
        lines += [f"### {load.describe()}", "", table(header, rows), ""]
    return lines


def write_report(results, out_dir, results_link=None, micro=None):
    """Draws the charts into out_dir/charts and writes out_dir/report.md; returns its path."""
    chart_dir = os.path.join(out_dir, "charts")
    charts = draw_charts(results, chart_dir)
    runs = results.runs
    counts = {s: sum(r.status == s for r in runs) for s in ("ok", "failed", "skipped")}
    source = results_link or os.path.relpath(results.path, out_dir)
    lines = [
        f"# rot13bench report: {results.name}",
        "",
        f"Generated by `scripts/report` from [`{os.path.basename(results.path)}`]({source}): {len(runs)} runs "
        f"({counts['ok']} ok, {counts['failed']} failed, {counts['skipped']} skipped) of "
        f"{len(results.cells)} configurations, {len(results.series)} servers and backends. "
        f"How to read the charts: docs/charts.md.",
        "",
        "## Machine, build and suite",
        "",
        context_table(results),
        "",
        "## How to read the numbers",
        "",
        *method_lines(results),
        "",
        *(["## Precision", "", *precision.precision_lines(results)] if results.precision else []),
        "## Noise floor",
        "",
        *noise_lines(results),
        *machine.machine_lines(results),
        "## Servers and backends",
        "",
        *servers_table(results),
        "",
        "## Failed, skipped and erroneous runs",
        "",
        *problem_lines(results),
        "",
        "## Charts",
        "",
    ]
    knee_charts = [c for c in charts if c.section == "knee"]
    if not charts:
        lines += ["No chart: the file has no successful or failed run to draw.", ""]
    elif len(knee_charts) == len(charts):
        lines += ["No chart here: the file's runs are knee searches (section Knee).", ""]
    number = 0
    for section, heading in SECTIONS:
        mine = [c for c in charts if c.section == section]
        if not mine:
            continue
        lines += [f"### {heading}", ""]
        for chart in mine:
            number += 1
            lines += [f"![{md(chart.title)}](charts/{chart.png})", "",
                      f"*Figure {number}. {chart.caption}* ([SVG](charts/{chart.svg}))", ""]
    if micro:
        lines += ["### Micro-benchmarks", "", f"![event dispatch cost]({micro['png']})", "",
                  f"*Cost of dispatching one event per mechanism (scripts/plot_micro.py); tables in "
                  f"[{os.path.basename(micro['md'])}]({micro['md']}).*", ""]
    if knee.knee_loads(results):
        lines += ["## Knee", ""] + knee.knee_lines(results, knee_charts, first_figure=number + 1)
    claim_lines = claims(results)
    lines += ["## Claims", ""] + claims_preamble(results)
    lines += claim_lines or ["No claim: no configuration has two servers with intervals (too few repetitions?).", ""]
    lines += ["## Every configuration", "",
              "Median [95% interval] over the successful repetitions; n/a says why a figure is missing.", ""]
    lines += load_tables(results)
    if knee.knee_loads(results):
        lines += ["The knee searches have their tables in the section Knee.", ""]
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "report.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines).rstrip("\n") + "\n")
    return path, charts
