"""Knee searches: the loads with "mode": "knee" (docs/harness.md, harness/knee.hpp).

For each server the harness looks for the highest open-loop rate whose corrected p99 stays
at or under the target with no errors: it doubles from start_rate while probes pass (or
halves while they fail), then bisects between the highest passing and the lowest failing
rate. Every probe is a whole run. The run's record is its highest passing probe's, and its
"knee" object holds the target, the knee `rate` (null: no probe passed, and the run
failed), `upper`, the lowest failing rate above it (null: max_rate passed, so the knee is
at least max_rate), and every probe.

The report shows them in a section of their own (knee_lines, knee_charts):
  - a table per load point, a row per run (and a median row per server with several);
  - the knee rate per server as a bar: the median over the repetitions, and with several
    their spread (lowest to highest: few searches give no interval worth the name) as an
    error bar;
  - per server its probes: offered rate against corrected p99, passed filled, failed a red
    cross, the target a dashed line.
The throughput, latency and CPU charts leave knee runs out (results.families): their
figures are at rates each server's search chose, so they compare nothing across servers.
"""

from types import SimpleNamespace

import numpy as np
from matplotlib import ticker
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from . import metrics, plotting
from .markdown import md, table

MODE = "knee"
BAR_HEIGHT = 0.6
MIN_BARS = 3          # the height of the bar panel, in servers, however few it has
AT_LEAST_MARK = "≥"   # the notes' mark for a knee at max_rate (no probe failed)
PASSED_SIZE, FAILED_SIZE = 5, 7


def _number(obj, key):
    value = obj.get(key) if isinstance(obj, dict) else None
    return None if isinstance(value, bool) or not isinstance(value, (int, float)) else float(value)


def _knee_rate(run):
    rate = _number(run.knee, "rate")
    if rate is None:
        return None, "no probe passed" if run.knee else "not a knee search"
    return rate, ""


KNEE_RATE = metrics.Metric("knee_rate", "knee rate", "lines/s", "knee rate (lines/s)", True,
                           "reaches a higher knee than", _knee_rate, metrics.format_rate)


def is_knee(cell_or_load):
    load = getattr(cell_or_load, "load", cell_or_load)
    return load.mode == MODE


def probes(run):
    """The run's probes in the order they ran: [{"rate", "passed", "p99_ns", ...}]."""
    found = (run.knee or {}).get("probes")
    return [p for p in found if isinstance(p, dict) and _number(p, "rate") is not None] \
        if isinstance(found, list) else []


def knee_probe(run):
    """The passing probe at the knee rate (its p99 and CPU are the knee's), or None."""
    rate = _number(run.knee, "rate")
    at = [p for p in probes(run) if p.get("passed") is True and _number(p, "rate") == rate]
    return at[-1] if rate is not None and at else None


def reached_max(run):
    """Whether the search found no failing rate: the knee is at least max_rate."""
    return run.knee is not None and _number(run.knee, "rate") is not None and _number(run.knee, "upper") is None


def load_cpu_percent(run):
    """How busy rot13-load's threads were in the window of the run's record (at the knee):
    near 100 % the knee may be the load generator's, not the server's."""
    cpu = [run.number("loadgen", k) for k in ("window_cpu_user_s", "window_cpu_sys_s")]
    duration, threads = run.number("summary", "duration_s"), run.number("loadgen", "threads")
    if None in cpu or not duration or not threads:
        return None
    return 100 * sum(cpu) / duration / threads


def _no_knee_reason(run):
    reason = run.reason or "no probe passed"
    return reason[len("knee: "):] if reason.startswith("knee: ") else reason


def _target(load):
    return f"{load.p99_ms:g} ms" if load.p99_ms is not None else "the target"


def knee_loads(results):
    """{load point: [cells]} of the knee searches, in load order."""
    by_load = {}
    for c in results.cells:
        if is_knee(c):
            by_load.setdefault(c.load, []).append(c)
    return {load: by_load[load] for load in sorted(by_load, key=lambda lp: lp.sort_key())}


def measured(cells):
    """The cells with a search that ran (not skipped in every run)."""
    return [c for c in cells if len(c.runs) > len(c.skipped_runs)]


def figure_text(cell, metric=KNEE_RATE):
    """The cell's figure as the tables print it; a knee rate every repetition of which
    reached max_rate is marked "(≥ max_rate)": it is only a lower bound."""
    text = metrics.cell_figure(cell, metric).format(metric)
    if metric is KNEE_RATE and cell.ok_runs and all(reached_max(r) for r in cell.ok_runs):
        text += " (≥ max_rate)"
    return text


# ---- the tables ------------------------------------------------------------------------------

def _upper_text(run):
    if reached_max(run):
        return f"≥ max_rate (nothing failed up to {metrics.format_rate(_number(run.knee, 'rate'))})"
    return metrics.format_rate(_number(run.knee, "upper"))


def _probe_count(run):
    found = probes(run)
    return f"{len(found)} ({sum(p.get('passed') is True for p in found)} passed)" if found else "0"


def run_row(run):
    """server, rep, knee, upper, probes, p99, CPU/line and load CPU at the knee."""
    label, rep = run.series.label, str(run.repetition)
    if run.status == "skipped":
        return [label, rep, f"skipped ({run.reason or 'no reason given'})"] + ["–"] * 5
    if run.knee is None:
        return [label, rep, f"none ({run.reason or 'no knee search recorded'})"] + ["–"] * 5
    rate = _number(run.knee, "rate")
    if rate is None:
        return [label, rep, f"none ({_no_knee_reason(run)})", _upper_text(run), _probe_count(run), "–", "–", "–"]
    at = knee_probe(run) or {}
    load_cpu = load_cpu_percent(run)
    return [label, rep, metrics.format_rate(rate), _upper_text(run), _probe_count(run),
            metrics.format_latency(_number(at, "p99_ns")), metrics.format_cpu_us(_number(at, "cpu_us_per_line")),
            f"{load_cpu:.0f} %" if load_cpu is not None else "n/a"]


def spread(values):
    """"1,500 (1,313 – 1,688)": the median of the repetitions and their range."""
    return f"{metrics.format_rate(float(np.median(values)))} ({metrics.format_rate(min(values))} – " \
           f"{metrics.format_rate(max(values))})"


def median_row(cell):
    """The server's median over its repetitions that found a knee, or None with fewer than two."""
    found = [r for r in cell.ok_runs if _number(r.knee, "rate") is not None]
    if len(found) < 2:
        return None
    uppers = [_number(r.knee, "upper") for r in found]
    at = [knee_probe(r) or {} for r in found]
    p99s = [v for v in (_number(p, "p99_ns") for p in at) if v is not None]
    cpus = [v for v in (_number(p, "cpu_us_per_line") for p in at) if v is not None]
    runs = len(cell.runs) - len(cell.skipped_runs)
    return [f"**{cell.series.label}**", f"median, {len(found)} of {runs}",
            spread([_number(r.knee, "rate") for r in found]),
            "≥ max_rate" if all(u is None for u in uppers) else
            spread([u for u in uppers if u is not None]) if all(u is not None for u in uppers) else "mixed",
            "–", metrics.format_latency(float(np.median(p99s))) if p99s else "n/a",
            metrics.format_cpu_us(float(np.median(cpus))) if cpus else "n/a", "–"]


def knee_lines(results, charts=(), first_figure=1):
    """The report's Knee section (without its heading): what the search is, then per load
    point its table and its charts with their captions, numbered from first_figure."""
    loads = knee_loads(results)
    if not loads:
        return []
    lines = ["Each search finds, per server, the highest open-loop rate whose coordinated-omission-corrected "
             "p99 stays at or under the target with no errors and at least 95 % of the rate delivered: it "
             "doubles the rate while probes pass (halves while they fail), then bisects between the highest "
             "passing and the lowest failing rate (docs/harness.md). Every probe is a whole run with a fresh "
             "server. **Knee** is the highest passing rate, **lowest failing above** the rate that bounds it "
             "(\"≥ max_rate\": nothing failed, the server may go higher); p99, CPU per line and load CPU are "
             "those of the probe at the knee. A load CPU near 100 % means the load generator, not the server, "
             "may have set the knee. These runs are left out of the other charts and tables: their figures are "
             "at rates each server's search chose.", ""]
    tolerances = sorted({t for c in results.cells if is_knee(c) for r in c.runs
                         for t in [_number(r.knee, "tolerance")] if t is not None})
    if tolerances:
        lines[-2] += (f" The bisection stops once the highest passing and the lowest failing rate are within "
                      f"{' or '.join(f'{100 * t:g} %' for t in tolerances)} of each other: a knee is known to that, "
                      f"and a difference between two servers' knees smaller than it is not resolved.")
    header = ("server", "rep", "knee (lines/s)", "lowest failing above", "probes", "p99 at the knee",
              "CPU/line at the knee", "load CPU")
    for load, cells in loads.items():
        rows = []
        for cell in cells:
            rows += [run_row(r) for r in cell.runs]
            extra = median_row(cell)
            if extra:
                rows.append(extra)
        lines += [f"### {load.describe()}", "", table(header, rows), ""]
        for chart in charts:
            if chart.stem in (f"knee-rate-{load.slug()}", f"knee-probes-{load.slug()}"):
                lines += [f"![{md(chart.title)}](charts/{chart.png})", "",
                          f"*Figure {first_figure}. {chart.caption}* ([SVG](charts/{chart.svg}))", ""]
                first_figure += 1
    return lines


# ---- the charts ------------------------------------------------------------------------------

def _rates_of(cell):
    return [_number(r.knee, "rate") for r in cell.ok_runs if _number(r.knee, "rate") is not None]


def rate_chart(load, cells, styles, out_dir, context):
    """A horizontal bar per server: the median knee rate, the repetitions' range as the
    error bar, the value at the bar's end; a cross at 0 for a server with no knee."""
    cells = measured(cells)
    if not any(_rates_of(c) for c in cells):
        return None
    fig, axes = plotting.new_grid(1, 1, sharey=None)
    plotting.with_context(fig, context)
    ax = axes[0][0]
    top = max(max(_rates_of(c), default=0) for c in cells)
    at_least = False
    for y, cell in enumerate(cells):
        rates, label = _rates_of(cell), cell.series.label
        runs = len(cell.runs) - len(cell.skipped_runs)
        style = styles(cell.series)
        if not rates:
            ax.plot([0], [y], marker="X", markersize=9, color=style["color"], markeredgecolor=plotting.FAILED_COLOR,
                    linestyle="none", clip_on=False)
            reasons = [_no_knee_reason(r) for r in cell.failed_runs] or ["no run succeeded"]
            plotting.add_note(fig, plotting.FAILED_MARK, label, f"no knee in {runs}/{runs} runs ({reasons[0]})")
            plotting._mark_used(ax, plotting.FAILED_MARK)
            continue
        median = float(np.median(rates))
        err = [[median - min(rates)], [max(rates) - median]] if len(rates) > 1 else None
        maxed = all(reached_max(r) for r in cell.ok_runs)
        ax.barh(y, median, height=BAR_HEIGHT, xerr=err, color=style["color"], hatch="//" if maxed else None,
                edgecolor="white" if maxed else None, error_kw={"elinewidth": 0.8, "capsize": 3})
        ax.annotate(("≥ " if maxed else "") + metrics.format_rate(median), (max(rates), y), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize=7)
        if maxed:
            at_least = True
            plotting.add_note(fig, AT_LEAST_MARK, label, f"max_rate passed ({metrics.format_rate(median)} lines/s): "
                              f"the knee is at least that")
        if len(rates) < runs:
            plotting.add_note(fig, plotting.PARTIAL_MARK, label, f"no knee in {runs - len(rates)}/{runs} runs "
                              f"(the bar is the median of the others)")
    ax.set_yticks(range(len(cells)))
    ax.set_yticklabels([c.series.label.replace("/", "/\n") if len(c.series.label) > 14 else c.series.label
                        for c in cells], fontsize=7)
    pad = max(0, MIN_BARS - len(cells)) / 2
    ax.set_ylim(len(cells) - 0.5 + pad, -0.5 - pad)
    ax.set_xlim(0, top * 1.3)  # room for the value at the longest bar's end
    ax.xaxis.set_major_locator(ticker.MaxNLocator(nbins=4))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(plotting.plain_number))
    ax.set_xlabel(KNEE_RATE.axis_label)
    ax.grid(axis="y", visible=False)
    extra = [(Patch(facecolor="grey", hatch="//", edgecolor="white"), "≥ max_rate (no probe failed)")] \
        if at_least else []
    if any(len(_rates_of(c)) > 1 for c in cells):
        extra.append((Line2D([], [], color="black", linewidth=0.8, marker="|"), "range of the repetitions"))
    plotting.add_legend(ax, extra=extra, sources=[])
    repetitions = plotting.repetitions_text(SimpleNamespace(cells=cells))
    title = f"Knee rate per server: {load.describe()}"
    fig.suptitle(title, fontsize=10)
    caption = (f"The highest offered rate (lines/s) whose corrected p99 stayed at or under {_target(load)} with "
               f"no errors, per server ({repetitions}; with several, the error bar spans the lowest to the "
               f"highest repetition); a hatched bar reached max_rate, so the knee is at least that; a cross, no "
               f"probe passed. Higher is better.")
    return plotting.save(fig, out_dir, f"knee-rate-{load.slug()}", title, caption, section="knee")


def _rate_axis(ax, rates):
    low, high = min(rates) / 1.5, max(rates) * 1.5
    ax.set_xscale("log")
    ax.set_xlim(low, high)
    # Decade ticks, 1-2-5 only when the probes span less than two decades: the bisection's
    # rates lie close together and would print their labels over each other.
    subs = (1.0,) if high / low >= 100 else (1.0, 2.0, 5.0)
    ax.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=subs))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(plotting.plain_number))
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    ax.set_xlabel("offered rate (lines/s, log scale)")


def probes_chart(load, cells, styles, out_dir, context):
    """A panel per server: every probe's offered rate against its corrected p99, passed
    filled in the server's colour, failed a red cross; the target a dashed line, the knee
    (median over the repetitions) a dotted one. Each repetition's probes are joined in
    rate order by a thin line."""
    cells = [c for c in measured(cells) if any(probes(r) for r in c.runs)]
    if not cells:
        return None
    rows, columns = plotting.grid_shape(len(cells), columns=3)
    fig, axes = plotting.new_grid(rows, columns, legend_columns=1)
    plotting.with_context(fig, context)
    flat = [ax for row in axes for ax in row]
    all_rates = [_number(p, "rate") for c in cells for r in c.runs for p in probes(r)]
    for i, (ax, cell) in enumerate(zip(flat, cells)):
        style = styles(cell.series)
        for run in cell.runs:
            points = sorted((_number(p, "rate"), _number(p, "p99_ns"), p.get("passed") is True) for p in probes(run))
            drawn = [(x, y * 1e-6, ok) for x, y, ok in points if y is not None and y > 0]
            if drawn:
                ax.plot([x for x, _y, _ok in drawn], [y for _x, y, _ok in drawn], color=style["color"],
                        linewidth=0.7, alpha=0.5)
            for x, y, ok in drawn:
                if ok:
                    ax.plot([x], [y], marker="o", markersize=PASSED_SIZE, color=style["color"], linestyle="none")
                else:
                    ax.plot([x], [y], marker="X", markersize=FAILED_SIZE, color=plotting.FAILED_COLOR,
                            linestyle="none")
            for x, _y, _ok in points:
                if _y is None:
                    plotting.add_note(fig, plotting.MISSING_MARK, cell.series.label,
                                      "probe without a p99 (its run failed)", "rate", x)
        if load.p99_ms is not None:
            ax.axhline(load.p99_ms, color="0.3", linewidth=1.0, linestyle="--")
        rates = _rates_of(cell)
        if rates:
            ax.axvline(float(np.median(rates)), color=style["color"], linewidth=1.0, linestyle=":")
            words = f"knee {metrics.format_rate(float(np.median(rates)))}"
            if all(reached_max(r) for r in cell.ok_runs):
                words = f"knee ≥ {metrics.format_rate(float(np.median(rates)))}"
        else:
            words = "no knee"
        ax.set_title(f"{cell.series.label}: {words}", fontsize=8.5)
        _rate_axis(ax, all_rates)
        plotting.set_y_axis(ax, "corrected p99 (ms)", "log")
        if i % columns:
            ax.set_ylabel("")
    plotting.hide_unused(axes, len(cells))
    legend = [(Line2D([], [], marker="o", color="grey", linestyle="none", markersize=PASSED_SIZE), "probe passed"),
              (Line2D([], [], marker="X", color=plotting.FAILED_COLOR, linestyle="none", markersize=FAILED_SIZE),
               "probe failed"),
              (Line2D([], [], color="0.3", linestyle="--"), f"target p99 {_target(load)}")]
    if any(_rates_of(c) for c in cells):
        legend.append((Line2D([], [], color="grey", linestyle=":"), "knee (median)"))
    plotting.add_legend(axes[0][-1] if len(cells) >= columns else flat[len(cells) - 1], extra=legend, sources=[])
    title = f"Knee search probes: {load.describe()}"
    fig.suptitle(title, fontsize=10)
    caption = (f"Every probe of the search, a panel per server: offered rate against corrected p99 (ms, both log "
               f"scales), filled where the probe passed (p99 at or under {_target(load)}, no errors, 95 % of the "
               f"rate delivered), a red cross where it failed; the dashed line is the target, the dotted one the "
               f"knee (median over the repetitions); each repetition's probes are joined in rate order. A probe "
               f"under the line can still fail, on errors or on a rate not delivered.")
    return plotting.save(fig, out_dir, f"knee-probes-{load.slug()}", title, caption, section="knee")


def knee_charts(results, styles, out_dir, context):
    """The knee charts of every knee load point: its rate chart, then its probes."""
    charts = []
    for load, cells in knee_loads(results).items():
        for make in (rate_chart, probes_chart):
            chart = make(load, cells, styles, out_dir, context)
            if chart is not None:
                charts.append(chart)
    return charts
