"""The cross-OS report: N results files (one per OS, e.g. the CI matrix's) side by side.

- the machines, one column per file;
- each OS's best native mechanism (mechanisms.native_mechanism: epoll on Linux, kqueue on
  macOS and the BSDs, IOCP on Windows, decided from context.os and the variants measured)
  at the key load point: the closed-loop load measured for the most servers in every file;
- the same configurations per OS side by side (median [95% interval]) for server CPU per
  line, throughput and p99; configurations in some files only are listed;
- the cross-OS chart: a panel for the native mechanisms and one per mechanism family, a
  bar per OS for every design, at the key load point.

The files come from different machines at different times: nothing here is paired, and
the report makes no claims, it puts numbers next to each other.

summary_markdown() is the short form for a GitHub job summary ($GITHUB_STEP_SUMMARY).
A job summary shows an image only from a URL the reader's browser can fetch: a relative
path shows the alt text, and GitHub's Markdown sanitiser strips data: URIs, so a base64
PNG shows nothing either. So the summary draws its key chart as text (a bar of block
characters per OS, which renders everywhere) and embeds the PNG only when told where it
is published (image_base_url, e.g. the GitHub Pages branch a publishing job pushes to).
"""

import os
from dataclasses import dataclass

from matplotlib import ticker
from matplotlib.patches import Patch

from . import knee, mechanisms, metrics, plotting
from .markdown import md, table

SIDE_METRICS = (metrics.CPU_PER_LINE, metrics.THROUGHPUT, metrics.P99)
CHART_METRICS = (metrics.CPU_PER_LINE, metrics.THROUGHPUT)
TEXT_BAR_WIDTH = 30
BAR_GROUP = 0.8  # of the space between two designs, shared by the bars of the OSes
TICK_LABEL_CHARS = 14  # longer design names are wrapped at their "/"
MIN_GROUPS = 3  # the height of a panel, in designs, however few it has
BUILD_MARK = "*"  # the notes' mark for a design some OS builds other than natively


@dataclass
class Side:
    results: object
    label: str

    @property
    def kind(self):
        return mechanisms.os_kind(self.results.context)

    @property
    def native(self):
        measured = {c.series.variant for c in self.results.cells if c.ok_runs and not c.series.backend}
        return mechanisms.native_mechanism(self.results.context, measured)


def default_labels(results_list):
    """"Linux", "macOS", "Windows (Wine 8.0)"; the host is added where two would be equal."""
    names = [mechanisms.os_label(r.context) for r in results_list]
    hosts = [str(r.context.get("host") or f"file {i + 1}") for i, r in enumerate(results_list)]
    return [f"{n} ({h})" if names.count(n) > 1 else n for n, h in zip(names, hosts)]


def sides_of(results_list, labels=None):
    return [Side(r, label) for r, label in zip(results_list, labels or default_labels(results_list))]


def measured_cells(results):
    """{key: cell} of the configurations with a successful or failed run (skipped ones are
    not measurements: a variant not built on that OS)."""
    return {c.key(): c for c in results.cells if len(c.runs) > len(c.skipped_runs)}


def matched_keys(sides):
    """(keys measured in at least two files, keys measured in one only), in first-seen order."""
    maps = [measured_cells(s.results) for s in sides]
    seen = []
    for m in maps:
        seen += [k for k in m if k not in seen]
    counts = {k: sum(k in m for m in maps) for k in seen}
    return [k for k in seen if counts[k] >= 2], [k for k in seen if counts[k] == 1]


def key_load(sides):
    """The closed-loop load point measured (ok) for the most servers in every file; ties go
    to more connections. None when the files share no closed-loop load."""
    per_side = []
    for s in sides:
        loads = {}
        for c in s.results.cells:
            if c.ok_runs and c.load.mode == "closed":
                loads[c.load] = loads.get(c.load, 0) + 1
        per_side.append(loads)
    common = set(per_side[0]).intersection(*per_side[1:]) if per_side else set()
    if not common:
        return None
    return max(common, key=lambda lp: (min(p[lp] for p in per_side), -(lp.idle or 0), lp.connections or 0))


def cell_at(side, series_label, load):
    """The side's cell of a design (its label without the build's note: kqueue is one design
    whether libkqueue or the kernel's provides it) at `load`, or None."""
    for c in side.results.cells:
        if c.series.label_without_note == series_label and c.load == load:
            return c
    return None


def native_cell(side, load):
    """The cell of the side's native mechanism at `load` (by variant: its label may carry a
    note), or None."""
    for c in side.results.cells:
        if side.native and c.series.variant == side.native and not c.series.backend and c.load == load:
            return c
    return None


def native_rows(sides, load):
    rows = []
    for s in sides:
        native = s.native
        cell = native_cell(s, load)
        figures = [metrics.cell_figure(cell, m).format(m) if cell else "n/a" for m in SIDE_METRICS]
        why = native or f"none measured ({mechanisms.OS_NAMES.get(s.kind, 'unknown OS')})"
        rows.append((s.label, why, *figures))
    return rows


def _side_cell_text(cell, metric, row_label):
    """A cell's figure, followed by how that file's build provides the variant where the
    row's label does not say so (kqueue is libkqueue on Linux, the real one on FreeBSD)."""
    text = metrics.cell_figure(cell, metric).format(metric)
    return f"{text} ({cell.series.note})" if cell.series.note and cell.series.label != row_label else text


def side_by_side_lines(sides, keys, metric):
    maps = [measured_cells(s.results) for s in sides]
    rows = []
    for key in keys:
        cells = [m[key] for m in maps if key in m]
        # One row for what may be two builds of a variant: its note only when every file has it.
        labels = {c.series.label for c in cells}
        label = cells[0].series.label if len(labels) == 1 else cells[0].series.label_without_note
        rows.append([label, cells[0].load.describe()]
                    + [_side_cell_text(m[key], metric, label) if key in m else "–" for m in maps])
    if not rows:
        return []
    return [f"### {metric.title[:1].upper() + metric.title[1:]}", "",
            table(["server", "load"] + [s.label for s in sides], rows), ""]


def design_labels(sides, load):
    """The series measured at `load` in any file, one per design (label without note), in
    the chapter's order."""
    found = {}
    for s in sides:
        for c in s.results.cells:
            if c.load == load and (c.ok_runs or c.failed_runs):
                found.setdefault(c.series.label_without_note, c.series)
    return sorted(found.values(), key=lambda s: s.sort_key())


def note_builds(fig, sides, designs, load):
    """A note per design that some file's build provides other than natively: "kqueue:
    libkqueue on Linux (Linux)"."""
    for series in designs:
        name = series.label_without_note
        for side in sides:
            cell = cell_at(side, name, load)
            if cell is not None and cell.series.note and (cell.ok_runs or cell.failed_runs):
                plotting.add_note(fig, BUILD_MARK, name, f"{cell.series.note} in the {side.label} bar")


def _bars(ax, groups, sides, metric, load, notes):
    """Horizontal bars: a group per entry of `groups` ((label, [series label per side])),
    a bar per side that measured it, centred on the group's line in the sides' order and
    colour; records in `notes` what a side did not measure."""
    height = BAR_GROUP / len(sides)
    for g, (_label, per_side) in enumerate(groups):
        present = []
        for i, (side, label) in enumerate(zip(sides, per_side)):
            if label is None:
                continue  # not this side's bar (the native panel has one per OS)
            cell = cell_at(side, label, load)
            e = metrics.cell_figure(cell, metric).estimate if cell else None
            if e is None:
                notes.setdefault(side.label, []).append(label)
            else:
                present.append((i, e))
        for k, (i, e) in enumerate(present):
            y = g + (k - (len(present) - 1) / 2) * height
            err = [[e.median - e.low], [e.high - e.median]] if e.has_interval else None
            ax.barh(y, e.median * metric.scale, height=height * 0.9, xerr=err, color=plotting.COLORS[i],
                    error_kw={"elinewidth": 0.8, "capsize": 2})
    ax.set_yticks(range(len(groups)))
    # A long name ("libevent-bufferevent/epoll") on two lines, so that it stays in its margin.
    ax.set_yticklabels([label.replace("/", "/\n") if len(label) > TICK_LABEL_CHARS else label
                        for label, _ in groups], fontsize=7)
    # A panel of one or two designs keeps the bar thickness of a fuller one (centred).
    pad = max(0, MIN_GROUPS - len(groups)) / 2
    ax.set_ylim(len(groups) - 0.5 + pad, -0.5 - pad)
    ax.set_xlim(left=0)
    # Few ticks: throughput labels ("80,000") are wide, and a panel is 3.4 inches.
    ax.xaxis.set_major_locator(ticker.MaxNLocator(nbins=4))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(plotting.plain_number))
    ax.set_xlabel(metric.axis_label, fontsize=8)
    ax.grid(axis="y", visible=False)


def cross_os_chart(sides, load, metric, out_dir):
    """A panel of native mechanisms, then one per mechanism family; a bar per OS."""
    designs = design_labels(sides, load)
    if not designs:
        return None
    natives = []
    for i, s in enumerate(sides):
        cell = native_cell(s, load)
        if cell is not None:
            natives.append((f"{s.label}: {s.native}", [cell.series.label_without_note if j == i else None
                                                       for j in range(len(sides))]))
    panels = [("best native mechanism", natives)] if natives else []
    for family, members in mechanisms.group_by_family(designs):
        panels.append((family.title, [(s.label_without_note, [s.label_without_note] * len(sides))
                                      for s in members]))
    rows, columns = plotting.grid_shape(len(panels))
    fig, axes = plotting.new_grid(rows, columns, sharey=None, legend_columns=1)
    flat = [ax for row in axes for ax in row]
    notes = {}
    for ax, (title, groups) in zip(flat, panels):
        _bars(ax, groups, sides, metric, load, notes)
        ax.set_title(title, fontsize=8.5)
    plotting.hide_unused(axes, len(panels))
    note_builds(fig, sides, designs, load)
    for side_label, missing in notes.items():
        plotting.add_note(fig, plotting.MISSING_MARK, side_label, "not measured there (not built, skipped or failed): "
                          + ", ".join(dict.fromkeys(missing)))
    handles = [(Patch(color=plotting.COLORS[i]), s.label) for i, s in enumerate(sides)]
    plotting.add_legend(axes[0][-1], extra=handles, sources=[])
    what = metric.title
    title = f"{what[:1].upper() + what[1:]} across operating systems: {load.describe()}"
    fig.suptitle(title, fontsize=10)
    caption = (f"{what[:1].upper() + what[1:]} at {load.describe()} ({', '.join(s.label for s in sides)}): a bar "
               f"per OS (median, 95% bootstrap interval as the error bar), the native mechanisms first, then a "
               f"panel per mechanism family; {'lower' if not metric.higher_is_better else 'higher'} is better.")
    short = {"cpu_us_per_line": "cpu"}.get(metric.key, metric.key)
    return plotting.save(fig, out_dir, f"cross-os-{short}-{load.slug()}", title, caption)


def context_table(sides):
    names = ("OS", "kernel", "host", "CPU", "cores", "compiler", "git commit", "date", "suite", "file")

    def column(s):
        c = s.results.context
        return [md(c.get("os")), md(c.get("kernel")), md(c.get("host")), md(c.get("cpu_model")),
                md(c.get("cores")), md(c.get("compiler")), md(c.get("git_commit")), md(c.get("date")),
                md(s.results.name), md(s.results.path)]
    columns = [column(s) for s in sides]
    return table([""] + [s.label for s in sides], [[n] + [col[i] for col in columns] for i, n in enumerate(names)])


def cross_os_lines(sides, charts, heading="#"):
    """The cross-OS sections (headings one level below `heading`)."""
    h = heading + "#"
    both, only = matched_keys(sides)
    load = key_load(sides)
    lines = [f"{h} Best native mechanism per OS", ""]
    if load is None:
        lines += ["The files share no closed-loop load point: nothing to put side by side.", ""]
    else:
        lines += [f"At {load.describe()} (the closed-loop load measured for the most servers in every file). The "
                  "native mechanism is the OS's own scalable interface: epoll on Linux, kqueue on macOS and the "
                  "BSDs, IOCP on Windows.", "",
                  table(("OS", "mechanism", "server CPU per line", "throughput (lines/s)", "p99"),
                        native_rows(sides, load)), ""]
    for chart in charts:
        lines += [f"![{md(chart.title)}](charts/{chart.png})", "",
                  f"*{chart.caption}* ([SVG](charts/{chart.svg}))", ""]
    lines += [f"{h} The same configurations side by side", "",
              "Medians [95% interval] over each file's successful repetitions; – where a file lacks the "
              "configuration. Different machines at different times: no claims are made.", ""]
    # A knee search is compared by its knee rate only (its other figures are at the rate
    # each search chose).
    for metric in SIDE_METRICS:
        lines += side_by_side_lines(sides, [k for k in both if not knee.is_knee(k[2])], metric)
    lines += side_by_side_lines(sides, [k for k in both if knee.is_knee(k[2])], knee.KNEE_RATE)
    maps = [measured_cells(s.results) for s in sides]
    if only:
        lines += [f"{h} Measured in one file only ({len(only)})", ""]
        for key in only:
            i = next(i for i, m in enumerate(maps) if key in m)
            lines.append(f"- {sides[i].label}: {maps[i][key].series.label}, {maps[i][key].load.describe()}")
        lines.append("")
    return lines


def draw_cross_os_charts(sides, chart_dir):
    load = key_load(sides)
    if load is None:
        return []
    return [c for c in (cross_os_chart(sides, load, m, chart_dir) for m in CHART_METRICS) if c is not None]


def write_cross_os(results_list, out_dir, labels=None):
    """Writes out_dir/compare.md (the N-way report) and its charts; returns (path, charts, sides)."""
    sides = sides_of(results_list, labels)
    charts = draw_cross_os_charts(sides, os.path.join(out_dir, "charts"))
    lines = [f"# rot13bench across operating systems: {', '.join(s.label for s in sides)}", "",
             f"Generated by `scripts/compare` from {len(sides)} results files. docs/charts.md explains the "
             f"numbers.", "", context_table(sides), ""]
    lines += cross_os_lines(sides, charts)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "compare.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines).rstrip("\n") + "\n")
    return path, charts, sides


def text_bars(rows, unit):
    """[(label, value)] as lines of block characters, the longest TEXT_BAR_WIDTH wide."""
    top = max((v for _l, v in rows if v is not None), default=0)
    width = max((len(label) for label, _v in rows), default=0)
    lines = []
    for label, value in rows:
        if value is None or top <= 0:
            lines.append(f"{label:<{width}}  n/a")
            continue
        eighths = round(8 * TEXT_BAR_WIDTH * value / top)
        bar = "█" * (eighths // 8) + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[eighths % 8]
        lines.append(f"{label:<{width}}  {bar} {value:.3g} {unit}")
    return lines


def summary_markdown(sides, charts, report_name="compare.md", image_base_url=None):
    """The job-summary Markdown: the native mechanisms as a table and as text bars, the
    key chart as an image only with image_base_url (see the module's comment)."""
    load = key_load(sides)
    lines = [f"## rot13bench across operating systems", "",
             " · ".join(f"**{s.label}**: {md(s.results.context.get('kernel'))}, "
                       f"{md(s.results.context.get('cores'))} cores, commit "
                       f"{str(s.results.context.get('git_commit') or 'n/a')[:12]}" for s in sides), ""]
    if load is None:
        return "\n".join(lines + ["The files share no closed-loop load point.", ""])
    lines += [f"### Best native mechanism, {load.describe()}", "",
              table(("OS", "mechanism", "server CPU per line", "throughput (lines/s)", "p99"),
                    native_rows(sides, load)), ""]
    bars = []
    for s in sides:
        cell = native_cell(s, load)
        e = metrics.cell_figure(cell, metrics.CPU_PER_LINE).estimate if cell else None
        bars.append((f"{s.label} {s.native or '-'}", e.median if e else None))
    lines += ["Server CPU per line (µs, lower is better):", "", "```text", *text_bars(bars, "µs"), "```", ""]
    key = next((c for c in charts if c.stem.startswith("cross-os-cpu-")), None)
    if key and image_base_url:
        lines += [f"![{md(key.title)}]({image_base_url.rstrip('/')}/charts/{key.png})", ""]
    lines += [f"The full report is `{report_name}` with its charts in `charts/` (the job's artifact)"
              + ("." if image_base_url else
                 "; a job summary cannot show them: it displays images only from URLs the browser can fetch "
                 "(a relative path shows the alt text, and GitHub strips data: URIs), so pass "
                 "`--image-base-url` with where the charts are published to embed the key chart here."), ""]
    return "\n".join(lines)
