"""compare.md for two results files: the same configurations side by side.

Two runs of a suite on two OSes, two commits or two machines. Configurations are matched
by server, backend and load (mode, connections, idle, depth, rate, size, arrivals); for
each matched one the tables give both medians with their intervals and the ratio B/A of
the medians with a bootstrap interval (stats.ratio_estimate). A difference is claimed
only when the ratio's interval excludes 1. Configurations on one side only are listed,
never an error. Overlay charts draw A solid and B dashed in the series' colour, and the
ratio B/A per series with its interval.
"""

import os

from matplotlib.lines import Line2D

from . import crossos, knee, mechanisms, metrics, plotting, stats
from .markdown import md, table
from .results import Family, families

COMPARE_METRICS = (metrics.THROUGHPUT, metrics.P99, metrics.CPU_PER_LINE, metrics.RSS_PER_CONNECTION)
# A knee search's other figures are at the rate each side's search chose: only its knee rate
# compares (and knee searches have no family, so no overlay chart).
KNEE_METRICS = (knee.KNEE_RATE,)
# Open-loop throughput is compared only where a side achieved less than this share of the
# offered rate; otherwise both simply sent what was asked.
SATURATED_FRACTION = 0.95


def default_labels(a, b):
    """Names for the two sides from what differs between their contexts."""
    for key in ("host", "os", "kernel", "git_commit", "date"):
        va, vb = a.context.get(key), b.context.get(key)
        if isinstance(va, str) and isinstance(vb, str) and va and vb and va != vb:
            if key == "git_commit":
                va, vb = va[:10], vb[:10]
            return f"A ({va})", f"B ({vb})"
    return "A", "B"


def matched(a, b):
    """(keys in both, keys in A only, keys in B only), each in A's (or B's) order."""
    ma, mb = a.cell_map(), b.cell_map()
    both = [k for k in ma if k in mb]
    return both, [k for k in ma if k not in mb], [k for k in mb if k not in ma]


def ratio(metric, cell_a, cell_b):
    va, vb = metrics.run_values(cell_a, metric), metrics.run_values(cell_b, metric)
    if va is None or vb is None:
        return None
    return stats.ratio_estimate(va, vb)


def verdict_text(metric, r, labels):
    verdict = stats.compare_ratio(r, metric.higher_is_better)
    if verdict == stats.SECOND_BETTER:
        return f"{labels[1]} better"
    if verdict == stats.FIRST_BETTER:
        return f"{labels[0]} better"
    if verdict == stats.NO_DIFFERENCE:
        return "no measurable difference"
    return "n/a (no interval)" if r is not None else "n/a"


def difference_text(r):
    """"+30.1 % [+29.0 – +31.2 %]" where the interval excludes 1, "within ±2.3 %" where it
    does not (the two files are never paired: see docs/charts.md)."""
    if r is None or not r.has_interval:
        return "n/a"
    if r.low <= 1 <= r.high:
        return f"within ±{stats.within_percent(r):.1f} %"
    return f"{100 * (r.median - 1):+.1f} % [{100 * (r.low - 1):+.1f} – {100 * (r.high - 1):+.1f} %]"


def ratio_text(r):
    if r is None:
        return "n/a"
    text = f"{r.median:.3f}"
    if r.has_interval:
        text += f" [{r.low:.3f} – {r.high:.3f}]"
    return text


def capitalized(text):
    return text[:1].upper() + text[1:]


def skipped_lines(a, b, keys):
    ma, mb = a.cell_map(), b.cell_map()
    skipped = [k for k in keys if all(r.status == "skipped" for r in ma[k].runs + mb[k].runs)]
    if not skipped:
        return []
    reasons = sorted({r.reason or "no reason given" for k in skipped for r in ma[k].runs + mb[k].runs})
    servers = sorted({ma[k].series.label for k in skipped})
    return [f"Skipped on both sides ({len(skipped)} configurations of {', '.join(servers)}): "
            f"{'; '.join(reasons)}.", ""]


def saturated(*cells):
    """Whether an open-loop configuration fell short of its offered rate (by 5%) on either side."""
    for cell in cells:
        e = metrics.cell_figure(cell, metrics.ACHIEVED).estimate
        if e is not None and e.median < SATURATED_FRACTION:
            return True
    return False


def ratio_tables(a, b, keys, labels):
    ma, mb = a.cell_map(), b.cell_map()
    lines = []
    for metric in COMPARE_METRICS + KNEE_METRICS:
        rows = []
        for key in keys:
            ca, cb = ma[key], mb[key]
            if knee.is_knee(ca) != (metric in KNEE_METRICS):
                continue
            if len(ca.skipped_runs) == len(ca.runs) and len(cb.skipped_runs) == len(cb.runs):
                continue  # skipped on both sides (not built): nothing measured, listed below
            fa, fb = metrics.cell_figure(ca, metric), metrics.cell_figure(cb, metric)
            if fa.estimate is None and fb.estimate is None and metric not in (metrics.THROUGHPUT, knee.KNEE_RATE):
                continue
            if metric is metrics.THROUGHPUT and ca.load.mode == "open" and not saturated(ca, cb):
                continue  # both kept up: the throughput is the offered rate
            r = ratio(metric, ca, cb)
            rows.append((ca.series.label, ca.load.describe(), knee.figure_text(ca, metric),
                         knee.figure_text(cb, metric), ratio_text(r), difference_text(r),
                         verdict_text(metric, r, labels)))
        if rows:
            lines += [f"### {capitalized(metric.title)}", "",
                      table(("server", "load", labels[0], labels[1], "ratio B/A [95% CI]", "B vs A", "verdict"), rows), ""]
    return lines


def missing_lines(a, b, only_a, only_b, labels):
    lines = []
    for side, keys, cells in ((labels[0], only_a, a.cell_map()), (labels[1], only_b, b.cell_map())):
        if keys:
            lines += [f"Only in {side} ({len(keys)}):", ""]
            lines += [f"- {cells[k].series.label}: {cells[k].load.describe()}" for k in keys]
            lines.append("")
    return lines or ["Every configuration is in both files.", ""]


def _family_pairs(a, b, keys):
    """Families of the matched configurations: (family over A's cells, the same over B's)."""
    ma, mb = a.cell_map(), b.cell_map()
    for fam in families([ma[k] for k in keys]):
        yield fam, Family(sweep=fam.sweep, fixed=fam.fixed, cells=[mb[c.key()] for c in fam.cells])


def _ratio_points(fam_a, fam_b, series, metric):
    xs, ys, lo, hi = [], [], [], []
    for x in fam_a.xs:
        ca, cb = fam_a.cell(series, x), fam_b.cell(series, x)
        r = ratio(metric, ca, cb) if ca is not None and cb is not None else None
        if r is None:
            continue
        xs.append(x)
        ys.append(r.median)
        lo.append(r.median - (r.low if r.has_interval else r.median))
        hi.append((r.high if r.has_interval else r.median) - r.median)
    return xs, ys, lo, hi


def overlay_chart(fam_a, fam_b, metric, styles, out_dir, labels, yscale, context):
    """A row per mechanism family: left, A solid and B dashed; right, the ratio B/A."""
    if not any(metrics.cell_figure(c, metric).estimate is not None for c in fam_a.cells + fam_b.cells):
        return None
    groups = mechanisms.group_by_family(fam_a.series)
    fig, axes = plotting.new_grid(len(groups), 2, sharey="column", legend_columns=1)
    plotting.with_context(fig, context)
    for (ax, ratio_ax), (mechanism, members) in zip(axes, groups):
        for s in members:
            style = styles(s)
            plotting.draw_series(ax, fam_a, s, metric, style, label="_nolegend_", linestyle="-", note_missing=False,
                                 tag=" (A)")
            plotting.draw_series(ax, fam_b, s, metric, style, label="_nolegend_", linestyle="--",
                                 note_missing=False, tag=" (B)")
            xs, ys, lo, hi = _ratio_points(fam_a, fam_b, s, metric)
            if xs:
                ratio_ax.errorbar(xs, ys, yerr=[lo, hi], color=style["color"], marker=style["marker"],
                                  markersize=4, linestyle=style["linestyle"], linewidth=1.2, capsize=3,
                                  label=s.label)
        for axis in (ax, ratio_ax):
            plotting.set_x_axis(axis, fam_a.sweep, fam_a.xs)
        plotting.set_y_axis(ax, metric.axis_label, yscale)
        ratio_ax.axhline(1.0, color="grey", linewidth=0.8)
        plotting.set_y_axis(ratio_ax, "ratio B/A (95% CI)", "log")
        ax.set_title(f"{mechanism.key}: {labels[0]} solid, {labels[1]} dashed", fontsize=8.5)
        ratio_ax.set_title(f"{mechanism.key}: ratio {labels[1]} / {labels[0]}", fontsize=8.5)
        sides = [(Line2D([], [], color="black", linestyle="-"), labels[0]),
                 (Line2D([], [], color="black", linestyle="--"), labels[1])]
        plotting.add_legend(ratio_ax, extra=sides, sources=(ax, ratio_ax))
    title = f"{capitalized(metric.title)}, {labels[0]} vs {labels[1]}: {fam_a.describe()}"
    fig.suptitle(title, fontsize=10)
    better = "above" if metric.higher_is_better else "below"
    caption = (f"{capitalized(metric.title)} of the configurations in both files ({fam_a.describe()}), a row per "
               f"mechanism family: left, medians with 95% bands ({labels[0]} solid, {labels[1]} dashed); right, "
               f"the ratio of medians B/A with its 95% bootstrap interval; {better} 1 means B is better.")
    short = {"cpu_us_per_line": "cpu", "rss_per_conn_kb": "rss"}.get(metric.key, metric.key)
    stem = f"compare-{short}-{fam_a.slug()}"
    return plotting.save(fig, out_dir, stem, title, caption)


def write_compare(a, b, out_dir, labels=None):
    """Writes out_dir/compare.md and its charts; returns (path, charts, the two sides for
    crossos.summary_markdown). Files from two OSes also get the cross-OS sections."""
    labels = labels or default_labels(a, b)
    sides = crossos.sides_of([a, b], labels)
    both, only_a, only_b = matched(a, b)
    styles = plotting.Styles(sorted(set(a.series) | set(b.series), key=lambda s: s.sort_key()))
    chart_dir = os.path.join(out_dir, "charts")
    charts = []
    for fam_a, fam_b in _family_pairs(a, b, both):
        chosen = ((metrics.P99, "log"),) if fam_a.mode == "open" else \
            ((metrics.THROUGHPUT, "linear"), (metrics.P99, "log"), (metrics.CPU_PER_LINE, "log"))
        for metric, yscale in chosen:
            chart = overlay_chart(fam_a, fam_b, metric, styles, chart_dir, labels, yscale, a.context)
            if chart is not None:
                charts.append(chart)

    def side(results):
        c = results.context
        return [md(c.get("host")), md(c.get("os")), md(c.get("kernel")), md(c.get("cpu_model")),
                md(c.get("cores")), md(c.get("git_commit")), md(c.get("date")), md(results.path)]
    names = ("host", "OS", "kernel", "CPU", "cores", "git commit", "date", "file")
    lines = [f"# rot13bench comparison: {labels[0]} vs {labels[1]}", "",
             f"Generated by `scripts/compare`. {labels[0]}: suite {md(a.name)}, {len(a.runs)} runs; "
             f"{labels[1]}: suite {md(b.name)}, {len(b.runs)} runs; {len(both)} configurations in both.", "",
             table(("", labels[0], labels[1]), [(n, x, y) for n, x, y in zip(names, side(a), side(b))]), "",
             "## How to read it", "",
             f"- Medians over successful repetitions with 95% bootstrap intervals "
             f"({stats.BOOTSTRAP_RESAMPLES:,} resamples, seed {stats.BOOTSTRAP_SEED}).",
             "- Ratio B/A: the ratio of the two medians, with a 95% bootstrap interval from resampling each "
             "side independently (**unpaired**: runs of two files did not share rounds of one interleaved "
             "order, so nothing cancels the drift between them). A side is called better only when that "
             "interval excludes 1; otherwise \"no measurable difference\", and the column B vs A says within "
             "how much (±x %, from the interval).",
             f"- p99 needs {metrics.P99_MIN_SAMPLES:,} latency samples in every repetition (see docs/charts.md).",
             "- Open-loop throughput is listed only where a side fell 5% short of the offered rate.",
             "- Knee searches are compared by their knee rate alone (their other figures are at the rate each "
             "side's search chose); \"≥ max_rate\" marks a side whose search never failed, whose knee is only a "
             "lower bound.",
             "- Intervals from 3 repetitions are narrower than they claim (docs/charts.md), and two files "
             "recorded at different times also differ by whatever else the machine was doing: before "
             "reading a verdict as an effect of the OS or the commit, compare two runs of the same setup.",
             "", "## Configurations in one file only", ""]
    lines += missing_lines(a, b, only_a, only_b, labels)
    lines += ["## Ratios", ""]
    lines += ratio_tables(a, b, both, labels) if both else ["No configuration is in both files.", ""]
    lines += skipped_lines(a, b, both)
    if charts:
        lines += ["## Charts", ""]
        for i, chart in enumerate(charts, 1):
            lines += [f"![{md(chart.title)}](charts/{chart.png})", "",
                      f"*Figure {i}. {chart.caption}* ([SVG](charts/{chart.svg}))", ""]
    if sides[0].kind != sides[1].kind:
        os_charts = crossos.draw_cross_os_charts(sides, chart_dir)
        lines += ["## Across operating systems", ""] + crossos.cross_os_lines(sides, os_charts, heading="##")
        charts += os_charts
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "compare.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines).rstrip("\n") + "\n")
    return path, charts, sides
