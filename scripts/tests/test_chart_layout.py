"""The charts a person reads at a glance: a panel per mechanism family, a reference line,
and no two pieces of text printed over each other (checked with matplotlib's own text
bounding boxes on every chart the report and compare draw from the fixtures).

The charts are drawn in this process and checked just before they would be saved; the
files are not written (test_report.py checks those), which keeps these tests quick."""

import itertools

import pytest
from matplotlib.text import Text

from conftest import fixture_path, make_fixtures
from rot13charts import compare, crossos, mechanisms, metrics, plotting, report
from rot13charts.results import Series, families, load_results, parse_results

# Two boxes that share less than this (in pixels, each way) are touching, not overlapping.
TOLERANCE_PX = 0.5


def drawn_texts(fig):
    """Every non-empty visible text the figure draws, with its window extent."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    hidden = _undrawn_tick_labels(fig)
    found = []
    for text in fig.findobj(Text):
        if id(text) in hidden or not text.get_visible() or not text.get_text().strip():
            continue
        if text.axes is not None and not text.axes.get_visible():
            continue
        found.append((text, text.get_window_extent(renderer)))
    return found


def _undrawn_tick_labels(fig):
    """Tick labels matplotlib keeps but does not draw: those of ticks outside the view."""
    hidden = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            slack = (high - low) * 1e-6
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not low - slack <= tick.get_loc() <= high + slack:
                    hidden.update((id(tick.label1), id(tick.label2)))
    return hidden


def overlaps(fig):
    """The pairs of texts whose boxes overlap by more than TOLERANCE_PX both ways."""
    found = []
    for (a, box_a), (b, box_b) in itertools.combinations(drawn_texts(fig), 2):
        dx = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
        dy = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
        if dx > TOLERANCE_PX and dy > TOLERANCE_PX:
            found.append((a.get_text()[:60], b.get_text()[:60]))
    return found


def _checking_save(seen):
    """A stand-in for plotting.save: each figure is laid out, checked for overlapping text,
    its panels recorded, and closed unsaved."""
    def check(fig, out_dir, stem, title, caption, section=""):
        plotting._write_notes(fig)
        titles = [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.get_title()]
        lines = {ax.get_title(): [line.get_label() for line in ax.get_lines()] for ax in fig.axes}
        bars = {ax.get_title(): len(ax.patches) for ax in fig.axes if ax.get_visible()}
        ticks = {ax.get_title(): [t.get_text() for t in ax.get_yticklabels()] for ax in fig.axes if ax.get_visible()}
        seen.append({"source": seen.source, "stem": stem, "overlaps": overlaps(fig), "titles": titles,
                     "lines": lines, "notes": plotting.note_lines(fig), "bars": bars, "ticks": ticks})
        plotting.plt.close(fig)
        return plotting.Chart(stem=stem, title=title, caption=caption, png=f"{stem}.png", svg=f"{stem}.svg",
                              section=section)
    return check


class _Seen(list):
    source = ""


def many_results():
    return parse_results(make_fixtures.build_many(), "many.json")


@pytest.fixture(scope="module")
def charts(tmp_path_factory):
    """Every chart report and compare draw from the fixtures, drawn once for this module."""
    out = str(tmp_path_factory.mktemp("layout"))
    seen = _Seen()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plotting, "save", _checking_save(seen))
        for seen.source, results in (("a", load_results(fixture_path("results-a.json"))), ("many", many_results()),
                                     ("knee", load_results(fixture_path("results-knee.json"))),
                                     ("knee-many", parse_results(make_fixtures.build_knee_many(), "knee.json"))):
            report.draw_charts(results, out)
        seen.source = "compare"
        compare.write_compare(load_results(fixture_path("results-a.json")),
                              load_results(fixture_path("results-b.json")), out)
        seen.source = "crossos"
        oses = [parse_results(make_fixtures.build_os(kind), f"{kind}.json") for kind in ("linux", "macos", "windows")]
        crossos.draw_cross_os_charts(crossos.sides_of(oses), out)
        seen.source = "crossos-ci"
        ci = [load_results(fixture_path(f"results-ci-{kind}.json")) for kind in ("linux", "freebsd", "windows")]
        crossos.draw_cross_os_charts(crossos.sides_of(ci), out)
    return seen


def chart(charts, source, stem):
    return next(c for c in charts if c["source"] == source and c["stem"].startswith(stem))


def test_no_text_overlaps_on_any_report_compare_or_cross_os_chart(charts):
    assert len([c for c in charts if c["source"] != "compare"]) >= 14
    assert [c for c in charts if c["source"] == "compare"]
    assert len([c for c in charts if c["source"] == "crossos"]) == 2
    assert len([c for c in charts if c["source"] == "crossos-ci"]) == 2
    assert len([c for c in charts if c["source"] == "knee"]) == 3
    assert len([c for c in charts if c["source"] == "knee-many"]) == 2
    bad = {(c["source"], c["stem"]): c["overlaps"] for c in charts if c["overlaps"]}
    assert not bad


def test_overlap_check_can_fail():
    """The check itself: two labels written at the same place are caught."""
    fig, axes = plotting.new_grid(1, 1)
    axes[0][0].text(0.5, 0.5, "select: 3/3 failed")
    axes[0][0].text(0.52, 0.5, "poll: 3/3 failed")
    assert overlaps(fig) == [("select: 3/3 failed", "poll: 3/3 failed")]
    plotting.plt.close(fig)


def test_a_panel_per_mechanism_family_with_the_unknown_in_other(charts):
    cpu = chart(charts, "many", "cpu-vs-connections")
    assert [t.split(":")[0] for t in cpu["titles"]] == ["blocking", "readiness", "libevent", "completion", "other"]
    readiness = next(lines for title, lines in cpu["lines"].items() if title.startswith("readiness"))
    assert {"kqueue-libkqueue (libkqueue on Linux)", "select", "poll", "epoll"} <= set(readiness)
    other = next(lines for title, lines in cpu["lines"].items() if title.startswith("other"))
    assert "mine" in other


def test_the_best_hand_written_design_is_a_reference_line_in_the_other_panels(charts):
    cpu = chart(charts, "many", "cpu-vs-connections")
    for title, lines in cpu["lines"].items():
        if title.startswith(("blocking", "readiness", "libevent", "other")):
            assert "io_uring (best hand-written)" in lines, title
        elif title.startswith("completion"):
            assert "io_uring" in lines and "io_uring (best hand-written)" not in lines


def test_failures_at_neighbouring_points_are_one_note(charts):
    idle = chart(charts, "many", "idle-scaling")
    select = [n for n in idle["notes"] if n.startswith("✕ select:")]
    assert select == ["✕ select: 3/3 failed, cap FD_SETSIZE, at 3,000, 10,000 idle"]


def test_family_comes_from_the_variant_not_the_label():
    relabelled = Series(server="kqueue (libkqueue on Linux)", variant="kqueue")
    assert mechanisms.family_of(relabelled).key == "readiness"
    assert mechanisms.family_of(Series(server="epoll-A2", variant="epoll")).key == "readiness"
    assert mechanisms.family_of(Series(server="mine", variant=None)).key == "other"
    assert mechanisms.family_of(Series(server="libevent-event", backend="kqueue",
                                       variant="libevent-event")).key == "libevent"


def test_reference_prefers_coverage_then_closeness_to_the_best():
    results = many_results()
    fam = next(f for f in families(results.cells) if f.sweep == "connections")
    # select is as good as any at 1 connection but fails past FD_SETSIZE; io_uring is the
    # fastest wherever it runs.
    assert plotting.best_reference(fam, metrics.CPU_PER_LINE).label == "io_uring"
    assert plotting.best_reference(fam, metrics.THROUGHPUT).label == "io_uring"


def test_the_cross_os_chart_has_a_panel_per_family_and_a_bar_per_os(charts):
    """The ci suite on Linux, FreeBSD and Windows: the native mechanisms first, then one panel
    per family, a bar for every OS that measured a design; kqueue is one design whether
    libkqueue (Linux) or the kernel (FreeBSD) provides it, and the note says which bar is which."""
    cpu = chart(charts, "crossos-ci", "cross-os-cpu-")
    assert [t.split(":")[0] for t in cpu["titles"]] == ["best native mechanism", "blocking", "readiness",
                                                        "libevent", "completion"]
    bars = {title.split(":")[0]: n for title, n in cpu["bars"].items()}
    # select, poll: 3 OSes; kqueue: Linux, FreeBSD; epoll, epoll-A2: Linux only.
    assert bars == {"best native mechanism": 3, "blocking": 3, "readiness": 10, "libevent": 1, "completion": 5}
    ticks = {title.split(":")[0]: labels for title, labels in cpu["ticks"].items()}
    assert ticks["best native mechanism"] == ["Linux: epoll", "FreeBSD: kqueue", "Windows: iocp"]
    assert ticks["readiness"] == ["select", "poll", "epoll", "epoll-A2", "kqueue"]
    assert ticks["libevent"] == ["libevent-event/\nepoll"]  # wrapped: it stays in its margin
    assert "* kqueue: libkqueue on Linux in the Linux bar" in cpu["notes"]
    assert "○ Windows: not measured there (not built, skipped or failed): epoll, epoll-A2, kqueue, " \
           "libevent-event/epoll, io_uring" in cpu["notes"]


def test_the_knee_probes_have_a_panel_per_server_with_the_target_line(charts):
    probes = chart(charts, "knee-many", "knee-probes-")
    assert [t.split(":")[0] for t in probes["titles"]] == ["threads", "select", "poll", "epoll",
                                                           "libevent-bufferevent/epoll", "io_uring"]
    rate = chart(charts, "knee-many", "knee-rate-")
    assert rate["bars"] == {"": 6}
