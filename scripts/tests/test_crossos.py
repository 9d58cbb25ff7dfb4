"""scripts/compare over results of three OSes (fixtures: results-a's suite as run on Linux,
macOS and Windows, make_fixtures.build_os): the same configurations side by side, each
OS's best native mechanism, the cross-OS chart, and the job summary."""

import json
import re

import pytest

from conftest import make_fixtures, run_script, write_json
from rot13charts import crossos, mechanisms, metrics
from rot13charts.results import parse_results
from test_report import assert_valid_chart_files, linked_images, section

OSES = ("linux", "macos", "windows")


@pytest.fixture(scope="module")
def three_oses(tmp_path_factory):
    """scripts/compare linux macos windows --summary, once: (out dir, compare.md, summary)."""
    root = tmp_path_factory.mktemp("oses")
    paths = []
    for kind in OSES:
        (root / kind).mkdir()
        paths.append(write_json(root / kind / "results.json", make_fixtures.build_os(kind)))
    out, summary = root / "out", root / "summary.md"
    summary.write_text("earlier steps' summary\n", encoding="utf-8")
    done = run_script("compare", *paths, "--out", str(out), "--summary", str(summary))
    assert done.returncode == 0, done.stderr
    return out, (out / "compare.md").read_text(encoding="utf-8"), summary.read_text(encoding="utf-8")


def sides():
    return crossos.sides_of([parse_results(make_fixtures.build_os(k), f"{k}.json") for k in OSES])


@pytest.mark.parametrize("context, kind, label", [
    ({"os": "Debian GNU/Linux 12 (bookworm)", "kernel": "Linux 6.1.0-18-amd64"}, "linux", "Linux"),
    ({"os": "Darwin", "kernel": "23.6.0 Darwin Kernel Version 23.6.0"}, "macos", "macOS"),
    ({"os": "FreeBSD", "kernel": "14.1-RELEASE FreeBSD 14.1-RELEASE"}, "bsd", "FreeBSD"),
    ({"os": "Windows", "kernel": "10.0.20348"}, "windows", "Windows"),
    ({"os": "Windows", "kernel": "10.0.19045 (Wine 8.0)"}, "windows", "Windows (Wine 8.0)"),
    ({}, "unknown", "unknown OS"),
])
def test_the_os_comes_from_the_context(context, kind, label):
    assert mechanisms.os_kind(context) == kind
    assert mechanisms.os_label(context) == label


def test_best_native_mechanism_per_os():
    assert [(s.label, s.native) for s in sides()] == [("Linux", "epoll"), ("macOS", "kqueue"), ("Windows", "iocp")]
    # kqueue built on Linux (libkqueue) is not Linux's native mechanism; epoll missing, io_uring is.
    linux = {"os": "Linux", "kernel": "Linux 6.8"}
    assert mechanisms.native_mechanism(linux, {"kqueue", "io_uring", "poll"}) == "io_uring"
    assert mechanisms.native_mechanism(linux, {"kqueue", "poll"}) is None


def test_report_has_the_native_mechanisms_side_by_side(three_oses):
    _out, text, _summary = three_oses
    native = section(text, "Best native mechanism per OS")
    assert "At closed loop, 100 connections" in native
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| (Linux|macOS|Windows) \| (\w+) \|", native, re.M)}
    assert rows == {"Linux": "epoll", "macOS": "kqueue", "Windows": "iocp"}
    linux, macos = (float(re.search(rf"^\| {os} \| \w+ \| ([\d.]+) µs", native, re.M).group(1))
                    for os in ("Linux", "macOS"))
    assert macos == pytest.approx(0.8 * linux, rel=0.02)  # the fixture's macOS kqueue: 0.8 x epoll's CPU


def test_report_puts_the_same_configurations_side_by_side(three_oses):
    _out, text, _summary = three_oses
    sbs = section(text, "The same configurations side by side")
    cpu = sbs.split("### Server CPU per line")[1].split("###")[0]
    assert "| server | load | Linux | macOS | Windows |" in cpu
    row = next(line for line in cpu.splitlines() if line.startswith("| select | closed loop, 100 connections |"))
    assert row.count("µs [") == 3
    only = section(text, "Measured in one file only")
    for line in ("- Linux: epoll, closed loop, 100 connections", "- macOS: kqueue, closed loop, 100 connections",
                 "- Windows: iocp, closed loop, 100 connections",
                 "- Windows: libevent-bufferevent/win32, closed loop, 1 connection"):
        assert line in only


def test_cross_os_charts_are_written_and_linked(three_oses):
    out, text, _summary = three_oses
    images = linked_images(text)
    assert [p for p in images if "cross-os-cpu-closed-c100" in p]
    assert [p for p in images if "cross-os-throughput-closed-c100" in p]
    for png in images:
        assert_valid_chart_files(out, png)


def test_summary_for_the_job_page(three_oses):
    _out, _text, summary = three_oses
    assert summary.startswith("earlier steps' summary\n## rot13bench across operating systems")  # appended
    bars = summary.split("```text\n")[1].split("```")[0].splitlines()
    assert [b.split()[:2] for b in bars] == [["Linux", "epoll"], ["macOS", "kqueue"], ["Windows", "iocp"]]
    lengths = [len(re.search(r"[█▏▎▍▌▋▊▉]+", b).group()) for b in bars]
    assert lengths[2] == crossos.TEXT_BAR_WIDTH and lengths[1] < lengths[0] < lengths[2]
    assert "![" not in summary and "GitHub strips data: URIs" in summary


def test_summary_embeds_the_chart_only_from_a_url():
    s = sides()
    charts = [crossos.plotting.Chart("cross-os-cpu-closed-c100-d1-s16", "CPU", "", "cross-os-cpu-closed-c100-d1-s16.png",
                                     "x.svg")]
    text = crossos.summary_markdown(s, charts, image_base_url="https://example.github.io/rot13bench/ci/")
    assert "![CPU](https://example.github.io/rot13bench/ci/charts/cross-os-cpu-closed-c100-d1-s16.png)" in text
    assert "data:" not in text.split("![CPU]")[1].split(")")[0]


def closed_loop_only(doc):
    """Fewer charts, a quicker test: the closed-loop runs without idle connections."""
    doc["runs"] = [r for r in doc["runs"] if r["config"]["mode"] == "closed" and not r["config"]["idle"]]
    return doc


def test_two_files_from_two_oses_keep_the_pairwise_report_and_gain_the_cross_os_part(tmp_path):
    a = write_json(tmp_path / "linux.json", closed_loop_only(make_fixtures.build_os("linux")))
    b = write_json(tmp_path / "macos.json", closed_loop_only(make_fixtures.build_os("macos")))
    done = run_script("compare", a, b, "--out", str(tmp_path / "out"), "--labels", "Linux", "macOS")
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "out" / "compare.md").read_text(encoding="utf-8")
    assert "## Ratios" in text and "## Across operating systems" in text
    assert "### Best native mechanism per OS" in text


def test_labels_must_match_the_files(tmp_path):
    a = write_json(tmp_path / "a.json", make_fixtures.build_os("linux"))
    done = run_script("compare", a, a, a, "--labels", "one", "two")
    assert done.returncode == 2 and "--labels: 2 names for 3 files" in done.stderr
