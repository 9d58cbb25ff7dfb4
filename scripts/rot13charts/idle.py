"""Idle-connection scaling: the chapter's footnote 2.

A few active connections and a growing number of idle ones. select() and poll() hand the
kernel every descriptor on every call and scan all of them afterwards, so their cost per
line grows with the idle connections; epoll (and kqueue, io_uring) only report the ready
ones, so theirs stays flat. Three panels share the x axis (idle connections, symmetric log
scale so that 0 fits): throughput, p99 latency, server CPU per line.
"""

from . import metrics, plotting


def idle_chart(family, styles, out_dir, context):
    if not any(c.ok_runs or c.failed_runs for c in family.cells):
        return None
    fig, axes = plotting.new_figure(panels=3)
    plotting.with_context(fig, context)
    panels = ((metrics.THROUGHPUT, "linear", True), (metrics.P99, "log", False), (metrics.CPU_PER_LINE, "log", False))
    for ax, (metric, scale, note_missing) in zip(axes, panels):
        for s in family.series:
            plotting.draw_series(ax, family, s, metric, styles(s), note_missing=note_missing)
        plotting.set_x_axis(ax, "idle", family.xs)
        plotting.set_y_axis(ax, metric.axis_label, scale)
        if not note_missing:
            plotting.footnote_missing(ax, family, metric)
        ax.set_title(metric.title, fontsize=9)
    title = f"Idle-connection scaling: {family.describe()}"
    fig.suptitle(title, fontsize=10)
    plotting.add_legend(fig, axes[-1])
    caption = (f"{family.describe().capitalize()} plus a growing number of idle connections: throughput, "
               f"p99 latency and server CPU per line ({plotting.repetitions_text(family)}, 95% bootstrap bands); "
               f"select() and poll() scan every descriptor per call, epoll only the ready ones.")
    stem = f"idle-scaling-{family.fixed.slug(omit=('idle',))}"
    return plotting.save(fig, out_dir, stem, title, caption, section="idle")
