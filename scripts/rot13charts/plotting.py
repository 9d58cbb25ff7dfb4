"""What every chart shares: matplotlib with the Agg backend, one look per series, axes
with units, annotations for failed and capped runs, and PNG + SVG output.

A chart is never silently missing a point: a configuration whose runs all failed gets a
cross at the foot of the chart in its series' colour with the reason in a few words
("select: 3/3 failed, cap FD_SETSIZE"), and a point drawn from fewer repetitions than were
run, or from runs with connection errors, is drawn hollow with a note.
"""

import math
import os
import textwrap
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after use())
from matplotlib import ticker, transforms  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from . import metrics  # noqa: E402

matplotlib.rcParams.update({
    "svg.hashsalt": "rot13bench",  # stable SVG ids: the same data gives the same file
    "font.size": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
})

PNG_DPI = 130
FIGURE_SIZE = (8.5, 5.0)
# tab10 without its red, which marks failures here.
COLORS = [c for i, c in enumerate(plt.get_cmap("tab10").colors) if i != 3]
MARKERS = ["o", "s", "D", "^", "v", "<", ">", "p", "h", "X", "*", "P"]
LINESTYLES = ["-", "--", ":", "-."]
FAILED_COLOR = "#c0392b"


@dataclass
class Chart:
    """A written chart: files are relative to the output directory."""

    stem: str
    title: str
    caption: str
    png: str
    svg: str
    section: str = ""


class Styles:
    """The same colour, marker and line style for a series on every chart of a report."""

    def __init__(self, series):
        self._by_label = {}
        for i, s in enumerate(series):
            self._by_label[s.label] = {"color": COLORS[i % len(COLORS)], "marker": MARKERS[i % len(MARKERS)],
                                       "linestyle": LINESTYLES[(i // len(COLORS)) % len(LINESTYLES)]}

    def __call__(self, series):
        return self._by_label.setdefault(series.label, {"color": "black", "marker": "o", "linestyle": "-"})


def new_figure(panels=1, width=None):
    width = width or (FIGURE_SIZE[0] if panels == 1 else 4.6 * panels + 1.6)
    fig, axes = plt.subplots(1, panels, figsize=(width, FIGURE_SIZE[1]), squeeze=False)
    return fig, list(axes[0])


def plain_number(v, _pos=None):
    """Tick labels as readers write numbers: 1, 10, 1,000, 0.05 (not 10^3)."""
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.3g}"


def set_x_axis(ax, sweep, xs):
    """Log scale for the swept load parameter; symlog when it includes 0 (idle counts)."""
    labels = {"connections": "connections (log scale)",
              "idle": "idle connections (symmetric log scale)",
              "size": "line size (bytes, log scale)",
              "depth": "lines in flight per connection (log scale)",
              "rate": "offered load (lines/s, log scale)",
              "total": "connections, active + idle (log scale)"}
    # On a symlog axis the linear part [0, linthresh] is as wide as a decade.
    linthresh = max(1, min([x for x in xs if x > 0], default=10))
    if min(xs, default=1) <= 0:
        ax.set_xscale("symlog", linthresh=linthresh)
    else:
        ax.set_xscale("log")
    ax.set_xlabel(labels.get(sweep, sweep))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(plain_number))
    if xs:
        ax.set_xticks(xs if len(xs) <= 8 else ax.get_xticks())
        lo, hi = min(xs), max(xs)
        if lo > 0:
            ax.set_xlim(lo / 1.5, hi * 1.5)
        else:
            ax.set_xlim(-0.25 * linthresh, hi * 1.5 if hi > 0 else 1)
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())


def set_y_axis(ax, label, scale="linear"):
    """scale: "linear" (from 0), "log", or "symlog" (log, but zero and negative values allowed).
    Call it after drawing: a log axis whose data span less than two decades gets 1-2-5
    ticks, or evenly spaced ones below a decade, so that it always has labelled ticks."""
    words = {"linear": "", "log": ", log scale", "symlog": ", symmetric log scale"}[scale]
    ax.set_ylabel(label + words)
    if scale == "log":
        ax.set_yscale("log")
        low, high = ax.get_ylim()
        decades = math.log10(high / low) if low > 0 and high > low else 3
        if decades >= 2:
            ax.yaxis.set_major_locator(ticker.LogLocator(base=10))
        elif decades >= 0.7:
            ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        else:
            ax.yaxis.set_major_locator(ticker.MaxNLocator(nbins=6))
    elif scale == "symlog":
        ax.set_yscale("symlog", linthresh=1)
    else:
        ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(plain_number))
    ax.yaxis.set_minor_formatter(ticker.NullFormatter())


def draw_series(ax, family, series, metric, style, label=None, linestyle=None, band=True, note_missing=True,
                tag=""):
    """One series of a family: medians joined by a line, the 95% band, and annotations
    (`tag`, e.g. " (B)", follows the series' name in them).

    Returns the problems it annotated as strings."""
    xs, ys, lows, highs, hollow = [], [], [], [], []
    problems = []
    for x in family.xs:
        cell = family.cell(series, x)
        if cell is None:
            continue
        figure = metrics.cell_figure(cell, metric)
        failed = len(cell.failed_runs)
        runs = len(cell.runs) - len(cell.skipped_runs)
        at_right = len(family.xs) > 1 and x == family.xs[-1]
        if figure.estimate is None:
            if runs == 0:
                continue  # skipped only: listed in the report, not a measurement
            if failed:
                problems.append(annotate_failure(ax, x, series, style, cell, at_right, tag))
            elif cell.ok_runs and note_missing:
                problems.append(annotate_missing(ax, x, series, style, figure.note, at_right, tag))
            continue
        e = figure.estimate
        xs.append(x)
        ys.append(e.median * metric.scale)
        lows.append((e.low if e.has_interval else e.median) * metric.scale)
        highs.append((e.high if e.has_interval else e.median) * metric.scale)
        errors = cell.runs_with_errors
        if failed or errors:
            hollow.append((x, e.median * metric.scale))
            what = []
            if failed:
                what.append(f"{failed}/{runs} failed")
            if errors:
                classes = sorted({k for r in errors for k in r.errors})
                what.append(f"errors: {', '.join(classes) or 'validation'}")
            problems.append(f"{series.label} at {plain_number(x)}: {'; '.join(what)}")
            ax.annotate("; ".join(what), (x, e.median * metric.scale), textcoords="offset points",
                        xytext=(-6 if at_right else 6, 6), ha="right" if at_right else "left", fontsize=6.5,
                        color=FAILED_COLOR)
            ax.figure.rot13_partial = True
    if xs:
        ax.plot(xs, ys, label=label or series.label, color=style["color"], marker=style["marker"],
                linestyle=linestyle or style["linestyle"], markersize=4.5, linewidth=1.4)
        if band and any(lo != hi for lo, hi in zip(lows, highs)):
            ax.fill_between(xs, lows, highs, color=style["color"], alpha=0.15, linewidth=0)
        for x, y in hollow:
            ax.plot([x], [y], marker="o", markersize=10, markerfacecolor="none",
                    markeredgecolor=FAILED_COLOR, linestyle="none")
    return problems


def _foot_slot(ax, x):
    """Stacks annotations at the same x above each other near the x axis."""
    if not hasattr(ax, "rot13_foot"):
        ax.rot13_foot = {}
    slots = ax.rot13_foot
    slots[x] = slots.get(x, -1) + 1
    return 0.03 + 0.055 * slots[x]


def cap_of(series, context):
    """The hard cap the harness's variant list gives for this server, e.g. "FD_SETSIZE"."""
    for v in context.get("variants") or []:
        if isinstance(v, dict) and v.get("name") == (series.variant or series.server) and v.get("cap"):
            return str(v["cap"])
    return None


def annotate_failure(ax, x, series, style, cell, at_right=False, tag=""):
    runs = len(cell.runs) - len(cell.skipped_runs)
    cap = cap_of(series, getattr(ax.figure, "rot13_context", {}))
    exits = sorted({r.exit for r in cell.failed_runs if r.exit and r.exit not in ("ok", "exit 0")})
    text = f"{series.label}{tag}: {len(cell.failed_runs)}/{runs} failed"
    if exits:
        text += f" ({', '.join(exits)})"
    if cap:
        text += f", cap {cap}"
    y = _foot_slot(ax, x)
    trans = transforms.blended_transform_factory(ax.transData, ax.transAxes)
    ax.plot([x], [y], marker="X", markersize=9, color=style["color"], markeredgecolor=FAILED_COLOR,
            transform=trans, linestyle="none", clip_on=False)
    ax.annotate(text, (x, y), xycoords=trans, textcoords="offset points", xytext=(-7 if at_right else 7, -3),
                fontsize=6.5, color=FAILED_COLOR, ha="right" if at_right else "left")
    ax.figure.rot13_failures = True
    return text


def annotate_missing(ax, x, series, style, note, at_right=False, tag=""):
    y = _foot_slot(ax, x)
    trans = transforms.blended_transform_factory(ax.transData, ax.transAxes)
    ax.plot([x], [y], marker="o", markersize=6, markerfacecolor="none", markeredgecolor=style["color"],
            transform=trans, linestyle="none", clip_on=False)
    text = f"{series.label}{tag}: n/a" + (f" ({note})" if note else "")
    ax.annotate(text, (x, y), xycoords=trans, textcoords="offset points", xytext=(-6 if at_right else 6, -3),
                fontsize=6, color="#555555", ha="right" if at_right else "left")
    ax.figure.rot13_missing = True
    return text


def x_words(sweep, xs):
    """[1, 10], "connections" -> "1, 10 connections"."""
    values = ", ".join(plain_number(x) for x in xs)
    return {"connections": f"{values} connections", "idle": f"{values} idle", "rate": f"{values} lines/s",
            "size": f"{values}-byte lines", "depth": f"depth {values}"}.get(sweep, f"{sweep} {values}")


def footnote_missing(ax, family, metric):
    """One line in the corner naming the x values where the metric was left out although
    runs succeeded (too few samples for p99, too few connections for RSS)."""
    xs = sorted({c.load.get(family.sweep) for c in family.cells
                 if c.ok_runs and metrics.cell_figure(c, metric).estimate is None})
    if not xs:
        return None
    notes = sorted({metrics.cell_figure(c, metric).note for c in family.cells
                    if c.ok_runs and metrics.cell_figure(c, metric).estimate is None} - {None})
    why = metric.missing_summary or (notes[0] if notes else "not measurable")
    text = textwrap.fill(f"{metric.title}: none at {x_words(family.sweep, xs)} ({why})", width=60)
    ax.text(0.01, 0.99, text, transform=ax.transAxes, va="top", ha="left", fontsize=6.5, color="#555555",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.5})
    return text


def add_legend(fig, ax, extra=(), sources=None):
    """The legend beside `ax` (the rightmost axes), with the lines of `sources` (default:
    ax itself), then `extra` (handle, text) pairs, then entries for the annotation marks used."""
    handles, labels = [], []
    for source in sources or [ax]:
        h, l = source.get_legend_handles_labels()
        handles += h
        labels += l
    for handle, text in extra:
        handles.append(handle)
        labels.append(text)
    if getattr(fig, "rot13_failures", False):
        handles.append(Line2D([], [], marker="X", color="grey", markeredgecolor=FAILED_COLOR, linestyle="none"))
        labels.append("all runs failed")
    if getattr(fig, "rot13_missing", False):
        handles.append(Line2D([], [], marker="o", markerfacecolor="none", color="grey", linestyle="none"))
        labels.append("not measurable (see note)")
    if getattr(fig, "rot13_partial", False):
        handles.append(Line2D([], [], marker="o", markerfacecolor="none", markeredgecolor=FAILED_COLOR,
                              linestyle="none", markersize=8))
        labels.append("some runs failed or had errors")
    if handles:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7.5, frameon=False)


def save(fig, out_dir, stem, title, caption, section=""):
    """Writes stem.png and stem.svg into out_dir and closes the figure."""
    os.makedirs(out_dir, exist_ok=True)
    png, svg = f"{stem}.png", f"{stem}.svg"
    fig.savefig(os.path.join(out_dir, png), dpi=PNG_DPI, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(os.path.join(out_dir, svg), bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return Chart(stem=stem, title=title, caption=caption, png=png, svg=svg, section=section)


def with_context(fig, context):
    """Lets annotations find the harness's caps (context.variants) through the figure.

    The figure and its axes also carry what was annotated (rot13_failures, rot13_missing,
    rot13_partial, rot13_foot) so that the legend explains exactly the marks used."""
    fig.rot13_context = context or {}
    return fig


def metric_chart(family, metric, styles, out_dir, context, *, stem, title, caption, yscale="linear",
                 note_missing=True, section=""):
    """The common chart: one metric against the family's swept parameter, one line per
    series, its 95% band, failures annotated. None when no cell has the metric."""
    if not any(metrics.cell_figure(c, metric).estimate is not None for c in family.cells):
        return None
    fig, (ax,) = new_figure()
    with_context(fig, context)
    for s in family.series:
        draw_series(ax, family, s, metric, styles(s), note_missing=note_missing)
    # Only the x values with something to draw (RSS, for one, starts at 100 connections).
    xs = [x for x in family.xs if any(metrics.cell_figure(c, metric).estimate is not None or c.failed_runs
                                      or (note_missing and c.ok_runs)
                                      for c in family.cells if c.load.get(family.sweep) == x)]
    if yscale == "log-or-symlog":
        values = [e.median for c in family.cells for e in [metrics.cell_figure(c, metric).estimate] if e]
        yscale = "log" if min(values) > 0 else "symlog"
    set_x_axis(ax, family.sweep, xs)
    set_y_axis(ax, metric.axis_label, yscale)
    if not note_missing:
        footnote_missing(ax, family, metric)
    ax.set_title(title, fontsize=10)
    add_legend(fig, ax)
    return save(fig, out_dir, stem, title, caption, section)


def repetitions_text(family):
    counts = sorted({len(c.runs) - len(c.skipped_runs) for c in family.cells} - {0})
    if not counts:
        return "no repetitions"
    n = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
    return f"median of {n} repetition{'s' * (counts[-1] != 1)}"
