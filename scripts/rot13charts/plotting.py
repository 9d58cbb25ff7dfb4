"""What every chart shares: matplotlib with the Agg backend, one look per series, axes
with units, small multiples by mechanism family, marks for failed and capped runs with
their notes, and PNG + SVG output.

A chart is never silently missing a point: a configuration whose runs all failed gets a
cross at the foot of its panel in its series' colour, a point drawn from fewer repetitions
than were run, or from runs with connection errors, is circled in red, and a point that
cannot be measured gets a hollow grey circle at the foot. What each mark means for which
server is written once, in the notes under the panels ("✕ select: 3/3 failed, cap
FD_SETSIZE, at 3,000, 10,000 idle"), never beside the mark: labels beside marks print
over each other as soon as two servers fail at neighbouring points.

Panels: a chart with more than a few servers draws one panel per mechanism family
(mechanisms.py: blocking, readiness, libevent, completion, other), all on the same axes,
and in each panel the best hand-written design of the chart as a thin grey reference
line, so that each family reads against the same yardstick.
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

from . import mechanisms, metrics  # noqa: E402

matplotlib.rcParams.update({
    "svg.hashsalt": "rot13bench",  # stable SVG ids: the same data gives the same file
    "svg.fonttype": "none",        # text stays text in the SVG: editable, and quicker to write
    "font.size": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
})

PNG_DPI = 130
# tab10 without its red, which marks failures here, and its grey, the reference line's.
COLORS = [c for i, c in enumerate(plt.get_cmap("tab10").colors) if i not in (3, 7)]
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


PANEL_SIZE = (3.4, 2.4)    # inches per panel's axes
LEGEND_WIDTH = 2.0         # inches at the right of a panel for its legend
Y_MARGIN = 0.85            # inches at the left of each panel: its tick labels and y label
X_MARGIN = 0.55            # inches under each panel: its tick labels and x label
TITLE_MARGIN = 0.35        # inches above each panel: its title
PANEL_COLUMNS = 2          # small multiples per row
NOTE_FONT_SIZE = 6.5
REFERENCE_STYLE = {"color": "0.35", "linewidth": 0.9, "linestyle": (0, (5, 2)), "zorder": 1}


def new_grid(rows, columns, sharey="all", legend_columns=None):
    """A figure of rows x columns panels, each PANEL_SIZE inches with fixed margins for its
    labels and, at its right, room for a legend. The layout is computed here, in inches,
    rather than by matplotlib's constrained layout: it is the same for every chart, and
    drawing is twice as fast. save() writes the notes under the panels.

    sharey: "all" (one y axis for every panel: families compare at a glance), "column" (one
    per column: a column per metric) or None. legend_columns: the last legend_columns panels
    of each row carry a legend (default: every one). Returns (fig, axes as a list of rows)."""
    legends = columns if legend_columns is None else legend_columns
    column_widths = [Y_MARGIN + PANEL_SIZE[0] + (LEGEND_WIDTH if c >= columns - legends else 0.15)
                     for c in range(columns)]
    width = sum(column_widths)
    row_height = TITLE_MARGIN + PANEL_SIZE[1] + X_MARGIN
    top = 0.4  # the figure's title
    height = top + rows * row_height
    fig = plt.figure(figsize=(width, height))
    axes = [[None] * columns for _ in range(rows)]
    for r in range(rows):
        bottom = height - top - r * row_height - TITLE_MARGIN - PANEL_SIZE[1]
        left = 0.0
        for c in range(columns):
            first = axes[0][0]
            share_y = first if sharey == "all" else axes[0][c] if sharey == "column" and r else None
            rect = [(left + Y_MARGIN) / width, bottom / height, PANEL_SIZE[0] / width, PANEL_SIZE[1] / height]
            axes[r][c] = fig.add_axes(rect, sharex=first, sharey=share_y)
            left += column_widths[c]
    fig.rot13_notes = {}
    return fig, axes


def grid_shape(panels, columns=PANEL_COLUMNS):
    columns = max(1, min(columns, panels))
    return math.ceil(panels / columns), columns


def hide_unused(axes, used):
    """Turns off the panels of a grid past the first `used` ones."""
    for i, ax in enumerate(ax for row in axes for ax in row):
        if i >= used:
            ax.set_visible(False)


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
    # The ticks are the tested values; minor ticks between them would only cost drawing
    # time (tick objects are matplotlib's most expensive part).
    ax.xaxis.set_minor_locator(ticker.NullLocator())


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
    if scale != "log":
        ax.yaxis.set_minor_locator(ticker.NullLocator())


# ---- marks and their notes ------------------------------------------------------------------

FAILED_MARK, PARTIAL_MARK, MISSING_MARK, LEFT_OUT_MARK = "✕", "◯", "○", "–"
NOTE_HEADINGS = {FAILED_MARK: "all runs failed", PARTIAL_MARK: "some runs failed or had errors",
                 MISSING_MARK: "not measurable", LEFT_OUT_MARK: "left out"}


def add_note(fig, mark, who, what, sweep=None, x=None):
    """Records one note for the strip under the panels. Notes that differ only in x merge:
    "✕ select: 3/3 failed, cap FD_SETSIZE, at 3,000, 10,000 idle"."""
    notes = fig.__dict__.setdefault("rot13_notes", {})
    xs = notes.setdefault((mark, who, what, sweep), [])
    if x is not None and x not in xs:
        xs.append(x)


def note_lines(fig):
    lines = []
    for (mark, who, what, sweep), xs in getattr(fig, "rot13_notes", {}).items():
        where = f", at {x_words(sweep, sorted(xs))}" if xs and sweep else ""
        lines.append(f"{mark} {who}: {what}{where}" if who else f"{mark} {what}{where}")
    return lines


def _write_notes(fig):
    """The notes, under the lowest panels' x labels: below the figure's own area, which
    save()'s tight bounding box grows to include."""
    lines = note_lines(fig)
    if not lines:
        return
    # Wrapped to the figure's width at about 0.55 em per character.
    width = max(40, int(fig.get_figwidth() * 72 / (NOTE_FONT_SIZE * 0.55)))
    text = "\n".join(textwrap.fill(line, width=width, subsequent_indent="   ") for line in lines)
    fig.text(Y_MARGIN / fig.get_figwidth(), -0.05 / fig.get_figheight(), text, va="top", ha="left",
             fontsize=NOTE_FONT_SIZE, color="#333333", linespacing=1.35)


def _mark_used(ax, kind):
    ax.__dict__.setdefault("rot13_marks", set()).add(kind)


def draw_series(ax, family, series, metric, style, label=None, linestyle=None, band=True, note_missing=True,
                tag=""):
    """One series of a family: medians joined by a line, the 95% band, and marks for what
    could not be drawn, with their notes (`tag`, e.g. " (B)", follows the series' name)."""
    xs, ys, lows, highs, hollow = [], [], [], [], []
    for x in family.xs:
        cell = family.cell(series, x)
        if cell is None:
            continue
        figure = metrics.cell_figure(cell, metric)
        failed = len(cell.failed_runs)
        runs = len(cell.runs) - len(cell.skipped_runs)
        if figure.estimate is None:
            if runs == 0:
                continue  # skipped only: listed in the report, not a measurement
            if failed:
                annotate_failure(ax, x, series, style, cell, family.sweep, tag)
            elif cell.ok_runs and note_missing:
                annotate_missing(ax, x, series, style, figure.note, family.sweep, tag)
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
            add_note(ax.figure, PARTIAL_MARK, f"{series.label}{tag}", "; ".join(what), family.sweep, x)
            _mark_used(ax, PARTIAL_MARK)
    if xs:
        ax.plot(xs, ys, label=label or series.label, color=style["color"], marker=style["marker"],
                linestyle=linestyle or style["linestyle"], markersize=4.5, linewidth=1.4)
        if band and any(lo != hi for lo, hi in zip(lows, highs)):
            ax.fill_between(xs, lows, highs, color=style["color"], alpha=0.15, linewidth=0)
        for x, y in hollow:
            ax.plot([x], [y], marker="o", markersize=10, markerfacecolor="none",
                    markeredgecolor=FAILED_COLOR, linestyle="none")


def draw_reference(ax, family, series, metric):
    """The thin grey line of the chart's reference series (its medians only)."""
    points = [(x, metrics.cell_figure(c, metric).estimate) for x in family.xs
              for c in [family.cell(series, x)] if c is not None]
    points = [(x, e.median * metric.scale) for x, e in points if e is not None]
    if points:
        ax.plot([p[0] for p in points], [p[1] for p in points], label=f"{series.label} (best hand-written)",
                **REFERENCE_STYLE)


def best_reference(family, metric, candidates=None):
    """The best hand-written design of a family for `metric`: the one measured at the most
    x values, then the one closest to the best of each x (the mean log ratio to it)."""
    series = [s for s in (candidates or family.series) if mechanisms.is_hand_written(s)]
    by_x = {}
    for s in series:
        for x in family.xs:
            cell = family.cell(s, x)
            e = metrics.cell_figure(cell, metric).estimate if cell is not None else None
            if e is not None and e.median > 0:
                by_x.setdefault(x, {})[s] = e.median
    if not by_x:
        return None
    pick = max if metric.higher_is_better else min
    best_at = {x: pick(values.values()) for x, values in by_x.items()}

    def score(s):
        logs = [abs(math.log(values[s] / best_at[x])) for x, values in by_x.items() if s in values]
        return (-len(logs), sum(logs) / len(logs), s.sort_key()) if logs else (0, 0, s.sort_key())
    return min((s for s in series if any(s in v for v in by_x.values())), key=score)


def _foot_slot(ax, x):
    """Stacks marks at the same x above each other near the x axis."""
    slots = ax.__dict__.setdefault("rot13_foot", {})
    slots[x] = slots.get(x, -1) + 1
    return 0.03 + 0.055 * slots[x]


def cap_of(series, context):
    """The hard cap the harness's variant list gives for this server, e.g. "FD_SETSIZE"."""
    for v in context.get("variants") or []:
        if isinstance(v, dict) and v.get("name") == (series.variant or series.server) and v.get("cap"):
            return str(v["cap"])
    return None


def _foot_mark(ax, x, **style):
    trans = transforms.blended_transform_factory(ax.transData, ax.transAxes)
    ax.plot([x], [_foot_slot(ax, x)], transform=trans, linestyle="none", clip_on=False, **style)


def annotate_failure(ax, x, series, style, cell, sweep=None, tag=""):
    runs = len(cell.runs) - len(cell.skipped_runs)
    cap = cap_of(series, getattr(ax.figure, "rot13_context", {}))
    exits = sorted({r.exit for r in cell.failed_runs if r.exit and r.exit not in ("ok", "exit 0")})
    what = f"{len(cell.failed_runs)}/{runs} failed"
    if exits:
        what += f" ({', '.join(exits)})"
    if cap:
        what += f", cap {cap}"
    _foot_mark(ax, x, marker="X", markersize=9, color=style["color"], markeredgecolor=FAILED_COLOR)
    add_note(ax.figure, FAILED_MARK, f"{series.label}{tag}", what, sweep, x)
    _mark_used(ax, FAILED_MARK)
    return what


def annotate_missing(ax, x, series, style, note, sweep=None, tag=""):
    _foot_mark(ax, x, marker="o", markersize=6, markerfacecolor="none", markeredgecolor=style["color"])
    add_note(ax.figure, MISSING_MARK, f"{series.label}{tag}", f"n/a ({note})" if note else "n/a", sweep, x)
    _mark_used(ax, MISSING_MARK)


def x_words(sweep, xs):
    """[1, 10], "connections" -> "1, 10 connections"."""
    values = ", ".join(plain_number(x) for x in xs)
    return {"connections": f"{values} connections", "idle": f"{values} idle", "rate": f"{values} lines/s",
            "size": f"{values}-byte lines", "depth": f"depth {values}"}.get(sweep, f"{sweep} {values}")


def footnote_missing(fig, family, metric):
    """A note naming the x values where the metric was left out although runs succeeded
    (too few samples for p99, too few connections for RSS)."""
    left_out = [c for c in family.cells if c.ok_runs and metrics.cell_figure(c, metric).estimate is None]
    xs = sorted({c.load.get(family.sweep) for c in left_out})
    if not xs:
        return None
    notes = sorted({metrics.cell_figure(c, metric).note for c in left_out} - {None})
    why = metric.missing_summary or (notes[0] if notes else "not measurable")
    add_note(fig, LEFT_OUT_MARK, "", f"{metric.title}: none at {x_words(family.sweep, xs)} ({why})")
    return xs


def add_legend(ax, extra=(), sources=None):
    """A legend at the right of `ax`: the lines of `sources` (default: ax itself), then
    `extra` (handle, text) pairs, then the marks used on those panels."""
    handles, labels, marks = [], [], set()
    for source in sources or [ax]:
        for handle, label in zip(*source.get_legend_handles_labels()):
            if label not in labels:  # a row of panels shows each series once
                handles.append(handle)
                labels.append(label)
        marks |= getattr(source, "rot13_marks", set())
    for handle, text in extra:
        handles.append(handle)
        labels.append(text)
    if FAILED_MARK in marks:
        handles.append(Line2D([], [], marker="X", color="grey", markeredgecolor=FAILED_COLOR, linestyle="none"))
        labels.append("all runs failed (notes)")
    if MISSING_MARK in marks:
        handles.append(Line2D([], [], marker="o", markerfacecolor="none", color="grey", linestyle="none"))
        labels.append("not measurable (notes)")
    if PARTIAL_MARK in marks:
        handles.append(Line2D([], [], marker="o", markerfacecolor="none", markeredgecolor=FAILED_COLOR,
                              linestyle="none", markersize=8))
        labels.append("some runs failed (notes)")
    if handles:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7, frameon=False,
                  borderaxespad=0.0)


def save(fig, out_dir, stem, title, caption, section=""):
    """Writes the notes, then stem.png and stem.svg into out_dir, and closes the figure."""
    _write_notes(fig)
    os.makedirs(out_dir, exist_ok=True)
    png, svg = f"{stem}.png", f"{stem}.svg"
    # The tight bounding box once for both files (bbox_inches="tight" draws the figure an
    # extra time for each of them).
    fig.draw_without_rendering()
    bbox = fig.get_tightbbox(fig.canvas.get_renderer()).padded(0.1)
    fig.savefig(os.path.join(out_dir, png), dpi=PNG_DPI, bbox_inches=bbox, metadata={"Software": None})
    fig.savefig(os.path.join(out_dir, svg), bbox_inches=bbox, metadata={"Date": None})
    plt.close(fig)
    return Chart(stem=stem, title=title, caption=caption, png=png, svg=svg, section=section)


def with_context(fig, context):
    """Lets annotations find the harness's caps (context.variants) through the figure."""
    fig.rot13_context = context or {}
    return fig


def drawn_series(family):
    """The family's series that have something to draw (not skipped in every run)."""
    return [s for s in family.series
            if any(len(c.runs) > len(c.skipped_runs) for c in family.cells if c.series == s)]


def metric_chart(family, metric, styles, out_dir, context, *, stem, title, caption, yscale="linear",
                 note_missing=True, section=""):
    """One metric against the family's swept parameter: a panel per mechanism family, a
    line per series with its 95% band, failures marked, the best hand-written design as
    the reference line in the other panels. None when no cell has the metric."""
    if not any(metrics.cell_figure(c, metric).estimate is not None for c in family.cells):
        return None
    groups = mechanisms.group_by_family(drawn_series(family))
    rows, columns = grid_shape(len(groups))
    fig, axes = new_grid(rows, columns)
    with_context(fig, context)
    reference = best_reference(family, metric)
    panels = [ax for row in axes for ax in row]
    # Only the x values with something to draw (RSS, for one, starts at 100 connections).
    xs = [x for x in family.xs if any(metrics.cell_figure(c, metric).estimate is not None or c.failed_runs
                                      or (note_missing and c.ok_runs)
                                      for c in family.cells if c.load.get(family.sweep) == x)]
    if yscale == "log-or-symlog":
        values = [e.median for c in family.cells for e in [metrics.cell_figure(c, metric).estimate] if e]
        yscale = "log" if min(values) > 0 else "symlog"
    for ax, (mechanism, members) in zip(panels, groups):
        for s in members:
            draw_series(ax, family, s, metric, styles(s), note_missing=note_missing)
        if reference is not None and reference not in members:
            draw_reference(ax, family, reference, metric)
        ax.set_title(mechanism.title, fontsize=8.5)
    for i, ax in enumerate(panels[:len(groups)]):
        set_x_axis(ax, family.sweep, xs)
        set_y_axis(ax, metric.axis_label, yscale)
        if i % columns:
            ax.set_ylabel("")
        add_legend(ax)
    hide_unused(axes, len(groups))
    if not note_missing:
        footnote_missing(fig, family, metric)
    fig.suptitle(title, fontsize=10)
    return save(fig, out_dir, stem, title, caption, section)


def reference_words(family, metric):
    """The caption's sentence about the reference line, or "" without one."""
    reference = best_reference(family, metric)
    if reference is None:
        return ""
    return (f" One panel per mechanism family; the thin grey dashed line in the others is the best hand-written "
            f"design, {reference.label}.")


def repetitions_text(family):
    counts = sorted({len(c.runs) - len(c.skipped_runs) for c in family.cells} - {0})
    if not counts:
        return "no repetitions"
    n = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
    return f"median of {n} repetition{'s' * (counts[-1] != 1)}"
