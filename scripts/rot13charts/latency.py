"""Latency charts: p99 against a load parameter, the percentile spectrum, and latency
against offered load (open loop).

Every latency is the coordinated-omission-corrected one (summary.latency_ns.corrected and
histograms.corrected): in an open loop it is measured from when a line was due to be
sent, so a server that stalls is charged for the lines queued behind the stall.

The spectrum is drawn as HdrHistogram does: x = 1 / (1 - p) on a log axis, so that 90%,
99%, 99.9% sit at equal distances and the tail is as visible as the median. The curve is
the histogram of all repetitions merged (exact: the buckets add), and it stops where fewer
than metrics.TAIL_SAMPLES samples lie beyond the percentile.
"""

import math

import numpy as np
from matplotlib import ticker

from . import mechanisms, metrics, plotting
from .throughput import SWEEP_TITLES, SWEEP_WORDS

SPECTRUM_MAX_PANELS = 6
SUMMARY_PERCENTILES = (("p50", 50), ("p75", 75), ("p90", 90), ("p99", 99), ("p999", 99.9), ("p9999", 99.99))


def p99_chart(family, styles, out_dir, context):
    words = SWEEP_WORDS[family.sweep]
    title = f"p99 latency vs {SWEEP_TITLES[family.sweep]}: {family.describe()}"
    caption = (f"99th-percentile latency (corrected, ms, {plotting.repetitions_text(family)}) against the "
               f"{words}, {family.describe()}; bands are 95% bootstrap intervals; configurations with fewer "
               f"than {metrics.P99_MIN_SAMPLES:,} latency samples in a repetition are left out (the report lists them)."
               f"{plotting.reference_words(family, metrics.P99)}")
    return plotting.metric_chart(family, metrics.P99, styles, out_dir, context, stem=f"p99-{family.slug()}",
                                 title=title, caption=caption, yscale="log", note_missing=False,
                                 section="latency")


def merged_histogram(cell):
    """(values_ns, counts) of the corrected histograms of every successful repetition, or
    None when a repetition has no histogram."""
    totals = {}
    runs = cell.ok_runs
    if not runs:
        return None
    for run in runs:
        h = run.section("histograms").get("corrected")
        if not isinstance(h, dict) or not isinstance(h.get("buckets"), list):
            return None
        for bucket in h["buckets"]:
            if isinstance(bucket, list) and len(bucket) == 2:
                totals[bucket[0]] = totals.get(bucket[0], 0) + bucket[1]
    if not totals:
        return None
    values = np.array(sorted(totals), dtype=float)
    counts = np.array([totals[v] for v in sorted(totals)], dtype=float)
    return values, counts


def spectrum_points(values, counts):
    """The spectrum as (x = 1/(1-p), latency) step corners, cut where the tail gets thin.

    For p between the cumulative fractions of buckets i-1 and i the latency is value i,
    so the curve is drawn with drawstyle "steps-pre" through (1/(1-p_i), value_i)."""
    total = counts.sum()
    below = np.cumsum(counts) / total
    keep = total * (1 - below) >= metrics.TAIL_SAMPLES
    xs = np.concatenate([[1.0], 1 / (1 - below[keep])])
    ys = np.concatenate([[values[0]], values[keep]])
    if keep.sum() < len(values):  # close the last step where the curve is cut
        last = len(np.nonzero(keep)[0])
        x_cut = total / metrics.TAIL_SAMPLES
        xs = np.append(xs, x_cut)
        ys = np.append(ys, values[last])
    return xs, ys


def summary_points(cell):
    """The spectrum from summary percentiles (median over repetitions) when no histogram."""
    xs, ys = [], []
    for key, p in SUMMARY_PERCENTILES:
        values = [r.number("summary", "latency_ns", "corrected", key) for r in cell.ok_runs
                  if metrics.percentile_supported(r.latency_samples, p)]
        values = [v for v in values if v is not None]
        if values and len(values) == len(cell.ok_runs):
            xs.append(1 / (1 - p / 100))
            ys.append(float(np.median(values)))
    return xs, ys


def _percentile_axis(ax, x_max):
    ticks = [t for t in (2, 10, 100, 1000, 10000, 100000, 1000000) if t <= max(x_max, 10) * 1.01]
    ax.set_xscale("log")
    ax.set_xticks(ticks)
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(
        lambda v, _pos: f"{100 * (1 - 1 / v):.{max(0, round(math.log10(v)) - 2)}f}%" if v > 1 else "0%"))
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    ax.set_xlim(1, max(x_max, 10) * 1.1)


def _pick(xs, n):
    if len(xs) <= n:
        return list(xs)
    picks = sorted({round(i * (len(xs) - 1) / (n - 1)) for i in range(n)})
    return [xs[i] for i in picks]


def panel_title(sweep, x):
    if sweep == "connections":
        return f"{plotting.plain_number(x)} connection{'s' * (x != 1)}"
    if sweep == "size":
        return f"{plotting.plain_number(x)}-byte lines"
    if sweep == "depth":
        return f"depth {plotting.plain_number(x)}"
    if sweep == "idle":
        return f"{plotting.plain_number(x)} idle"
    return f"{plotting.plain_number(x)} lines/s"


def spectrum_chart(family, styles, out_dir, context):
    """Small multiples: one panel per value of the family's parameter (up to six)."""
    panels = []
    for x in _pick(family.xs, SPECTRUM_MAX_PANELS):
        curves = []
        for s in family.series:
            cell = family.cell(s, x)
            if cell is None or not cell.ok_runs:
                continue
            merged = merged_histogram(cell)
            if merged is not None:
                px, py = spectrum_points(*merged)
                curves.append((s, px, py, "steps-pre"))
            else:
                px, py = summary_points(cell)
                if px:
                    curves.append((s, px, py, "default"))
        if curves:
            panels.append((x, curves))
    if not panels:
        return None

    rows, columns = plotting.grid_shape(len(panels), columns=3)
    fig, axes = plotting.new_grid(rows, columns, legend_columns=1)
    plotting.with_context(fig, context)
    words = SWEEP_WORDS[family.sweep]
    x_max = max(max(px) for _x, curves in panels for _s, px, _py, _d in curves)
    flat = [ax for row in axes for ax in row]
    for i, (ax, (x, curves)) in enumerate(zip(flat, panels)):
        for s, px, py, drawstyle in curves:
            style = styles(s)
            ax.plot(px, np.asarray(py) * 1e-6, drawstyle=drawstyle, color=style["color"],
                    linestyle=style["linestyle"], linewidth=1.3, label=s.label,
                    marker=style["marker"] if drawstyle == "default" else None, markersize=3.5)
        for s in family.series:
            cell = family.cell(s, x)
            if cell is not None and cell.failed_runs and not cell.ok_runs:
                plotting.add_note(fig, plotting.FAILED_MARK, s.label, "all runs failed, no curve", family.sweep, x)
        _percentile_axis(ax, x_max)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(plotting.plain_number))
        ax.set_title(panel_title(family.sweep, x), fontsize=9)
        ax.set_ylabel("latency (ms, log scale)" if i % columns == 0 else "")
        if i // columns == rows - 1 or i + columns >= len(panels):
            ax.set_xlabel("percentile (x = 1/(1−p), log scale)")
    plotting.hide_unused(axes, len(panels))
    plotting.add_legend(axes[0][-1] if len(panels) >= columns else flat[len(panels) - 1], sources=flat[:len(panels)])
    title = f"Latency percentile spectrum: {family.describe()}"
    fig.suptitle(title, fontsize=10)
    caption = (f"Corrected latency (ms) at each percentile, all repetitions merged, one panel per tested "
               f"{words}, {family.describe()}; x = 1/(1−p), so 90%, 99% and 99.9% are equally spaced; each "
               f"curve stops where fewer than {metrics.TAIL_SAMPLES} samples lie beyond it.")
    return plotting.save(fig, out_dir, f"spectrum-{family.slug()}", title, caption, section="latency")


def offered_load_chart(family, styles, out_dir, context):
    """Open loop, a row per mechanism family: latency (p99 solid, p50 dotted) and the
    achieved rate against the offered rate."""
    if not any(c.ok_runs or c.failed_runs for c in family.cells):
        return None
    groups = mechanisms.group_by_family(plotting.drawn_series(family))
    fig, axes = plotting.new_grid(len(groups), 2, sharey="column", legend_columns=1)
    plotting.with_context(fig, context)
    reference = plotting.best_reference(family, metrics.P99)
    xs = family.xs
    for (lat_ax, rate_ax), (mechanism, members) in zip(axes, groups):
        for s in members:
            style = styles(s)
            plotting.draw_series(lat_ax, family, s, metrics.P99, style, label=s.label, note_missing=False)
            plotting.draw_series(lat_ax, family, s, metrics.P50, style, label="_nolegend_", linestyle=":",
                                 band=False, note_missing=False)
            plotting.draw_series(rate_ax, family, s, metrics.THROUGHPUT, style, label=s.label)
        if reference is not None and reference not in members:
            plotting.draw_reference(lat_ax, family, reference, metrics.P99)
        for ax in (lat_ax, rate_ax):
            plotting.set_x_axis(ax, "rate", xs)
        plotting.set_y_axis(lat_ax, "corrected latency (ms)", "log")
        plotting.set_y_axis(rate_ax, "achieved (lines/s)", "log")
        if xs:
            rate_ax.plot(xs, xs, color="grey", linewidth=0.8, linestyle="--", label="achieved = offered")
        lat_ax.set_title(f"{mechanism.key}: p99 solid, p50 dotted", fontsize=8.5)
        rate_ax.set_title(f"{mechanism.key}: achieved against offered", fontsize=8.5)
        plotting.add_legend(rate_ax, sources=(lat_ax, rate_ax))
    plotting.footnote_missing(fig, family, metrics.P99)
    title = f"Latency vs offered load: {family.describe()}"
    fig.suptitle(title, fontsize=10)
    caption = (f"{family.describe().capitalize()}: corrected latency (left; p99 solid with its 95% band, p50 "
               f"dotted) and achieved throughput (right) against the offered rate ({plotting.repetitions_text(family)}), "
               f"a row per mechanism family"
               + (f" with the best hand-written p99, {reference.label}, as a thin grey line" if reference else "")
               + f"; where the achieved rate falls below the dashed line the server is saturated and latency is "
               f"queueing; p99 only where every repetition has {metrics.P99_MIN_SAMPLES:,} latency samples.")
    stem = f"latency-vs-offered-load-{family.fixed.slug(omit=('rate',))}"
    return plotting.save(fig, out_dir, stem, title, caption, section="latency")
