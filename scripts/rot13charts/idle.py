"""Idle-connection scaling: the chapter's footnote 2.

A few active connections and a growing number of idle ones. select() and poll() hand the
kernel every descriptor on every call and scan all of them afterwards, so their cost per
line grows with the idle connections; epoll (and kqueue, io_uring) only report the ready
ones, so theirs stays flat. A row of panels per mechanism family, a column per figure
(throughput, p99 latency, server CPU per line; each column on one y axis), all against
the idle connections (symmetric log scale so that 0 fits); in each row the best
hand-written design of that column as a thin reference line.
"""

from . import mechanisms, metrics, plotting

PANELS = ((metrics.THROUGHPUT, "linear", True), (metrics.P99, "log", False), (metrics.CPU_PER_LINE, "log", False))


def idle_chart(family, styles, out_dir, context):
    if not any(c.ok_runs or c.failed_runs for c in family.cells):
        return None
    groups = mechanisms.group_by_family(plotting.drawn_series(family))
    fig, axes = plotting.new_grid(len(groups), len(PANELS), sharey="column", legend_columns=1)
    plotting.with_context(fig, context)
    references = [plotting.best_reference(family, metric) for metric, _scale, _note in PANELS]
    for row, (mechanism, members) in zip(axes, groups):
        for column, (ax, (metric, scale, note_missing), reference) in enumerate(zip(row, PANELS, references)):
            for s in members:
                plotting.draw_series(ax, family, s, metric, styles(s), note_missing=note_missing)
            if reference is not None and reference not in members:
                plotting.draw_reference(ax, family, reference, metric)
            ax.set_title(f"{metric.title}: {mechanism.key}", fontsize=8.5)
        for ax, (metric, scale, _note) in zip(row, PANELS):
            plotting.set_x_axis(ax, "idle", family.xs)
            plotting.set_y_axis(ax, metric.axis_label, scale)
        plotting.add_legend(row[-1], sources=row)
    for metric, _scale, note_missing in PANELS:
        if not note_missing:
            plotting.footnote_missing(fig, family, metric)
    title = f"Idle-connection scaling: {family.describe()}"
    fig.suptitle(title, fontsize=10)
    caption = (f"{family.describe().capitalize()} plus a growing number of idle connections: throughput, "
               f"p99 latency and server CPU per line ({plotting.repetitions_text(family)}, 95% bootstrap bands), "
               f"a row per mechanism family with the best hand-written design as a thin grey line; "
               f"select() and poll() scan every descriptor per call, epoll only the ready ones.")
    stem = f"idle-scaling-{family.fixed.slug(omit=('idle',))}"
    return plotting.save(fig, out_dir, stem, title, caption, section="idle")
