"""scripts/compare over results of three OSes: the same configurations side by side, each
OS's best native mechanism, the cross-OS chart, and the job summary. Two sets of fixtures:
results-a's suite as run on Linux, macOS and Windows (make_fixtures.build_os, in memory),
and the ci suite's files of Linux (a real run, trimmed), FreeBSD and Windows
(fixtures/results-ci-*.json)."""

import json
import os
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


# ---- the ci suite's files of three OSes (fixtures/results-ci-*.json: a real Linux run,
# trimmed, and a FreeBSD-like and a Windows-like file made from it by make_fixtures) -----

CI_OSES = ("linux", "freebsd", "windows")


def ci_fixture(kind):
    from conftest import fixture_path
    return fixture_path(f"results-ci-{kind}.json")


@pytest.fixture(scope="module")
def ci_three(tmp_path_factory):
    out = tmp_path_factory.mktemp("ci-oses") / "out"
    done = run_script("compare", *[ci_fixture(k) for k in CI_OSES], "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out, (out / "compare.md").read_text(encoding="utf-8")


def table_rows(text, first_cells):
    """{(cell 1, cell 2): [the other cells]} of the table rows starting with first_cells[0]."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| ") and cells[0] in first_cells:
            rows[(cells[0], cells[1])] = cells[2:]
    return rows


def test_the_ci_fixtures_are_small_and_three_oses():
    for kind, label in zip(CI_OSES, ("Linux", "FreeBSD", "Windows")):
        assert os.path.getsize(ci_fixture(kind)) < 200_000
        with open(ci_fixture(kind), encoding="utf-8") as f:
            assert mechanisms.os_label(json.load(f)["context"]) == label


def test_each_os_names_its_best_native_mechanism(ci_three):
    _out, text = ci_three
    assert "| | Linux | FreeBSD | Windows |" in text.replace("|  |", "| |")
    native = table_rows(section(text, "Best native mechanism per OS"), ("Linux", "FreeBSD", "Windows"))
    assert {os_: mechanism for os_, mechanism in native} == {"Linux": "epoll", "FreeBSD": "kqueue",
                                                             "Windows": "iocp"}
    # Each mechanism's own figures: FreeBSD's kqueue is not Linux's libkqueue row.
    cpu = {os_: float(cells[0].split()[0]) for (os_, _m), cells in native.items()}
    assert cpu["Linux"] < cpu["Windows"] and cpu["FreeBSD"] != cpu["Linux"]


def test_the_same_configurations_are_side_by_side_per_os(ci_three):
    _out, text = ci_three
    sbs = section(text, "The same configurations side by side")
    cpu = sbs.split("### Server CPU per line")[1].split("###")[0]
    assert "| server | load | Linux | FreeBSD | Windows |" in cpu
    rows = table_rows(cpu, ("threads", "select", "poll", "asio", "kqueue"))
    for server in ("threads", "select", "poll", "asio"):
        for load in ("closed loop, 10 connections", "closed loop, 100 connections"):
            linux, freebsd, windows = (float(c.split()[0]) for c in rows[(server, load)])
            # make_fixtures scales the Linux run's CPU per line by 1.15 (FreeBSD) and 1.4 (Windows).
            assert freebsd == pytest.approx(1.15 * linux, rel=0.02) and windows == pytest.approx(1.4 * linux, rel=0.02)
    # kqueue: libkqueue on Linux (said in its cell), the real one on FreeBSD, not on Windows.
    linux, freebsd, windows = rows[("kqueue", "closed loop, 100 connections")]
    assert linux.endswith("(libkqueue on Linux)") and "libkqueue" not in freebsd and windows == "–"
    only = section(text, "Measured in one file only")
    assert "- Linux: epoll-A2, closed loop, 10 connections" in only and "- Windows: iocp, closed loop, 100 connections" in only


def test_a_native_mechanism_the_suite_did_not_run_is_said_to_be_missing(tmp_path):
    """The ci suite does not list iocp yet: on Windows the report then says so."""
    with open(ci_fixture("windows"), encoding="utf-8") as f:
        windows = json.load(f)
    windows["runs"] = [r for r in windows["runs"] if r["config"]["server"] != "iocp"]
    with open(ci_fixture("linux"), encoding="utf-8") as f:
        linux = json.load(f)
    s = crossos.sides_of([parse_results(linux, "linux.json"), parse_results(windows, "windows.json")])
    load = crossos.key_load(s)
    rows = crossos.native_rows(s, load)
    assert rows[0][:2] == ("Linux", "epoll") and rows[1][:2] == ("Windows", "none measured (Windows)")
    assert rows[1][2:] == ("n/a", "n/a", "n/a")


def test_the_export_of_the_real_linux_run_has_one_entry_per_configuration():
    from rot13charts import export
    from rot13charts.results import load_results
    results = load_results(ci_fixture("linux"))
    entries, left_out = export.export(results)
    assert not left_out and len(entries) == 18  # 9 servers x 2 loads, the A/A twin included
    assert {e["name"] for e in entries} == {r.id.rsplit("/rep", 1)[0] for r in results.runs}
    epoll = next(e for e in entries if e["name"] == "epoll/closed-c100-d1-idle0-s16")
    cpu = sorted(r.data["server"]["cpu_us_per_line"] for r in results.runs
                 if r.id.startswith("epoll/closed-c100-"))
    assert epoll["value"] == pytest.approx(sum(cpu) / 2, rel=1e-3)  # the median of two
    assert "range" not in epoll  # two repetitions: no interval, so no range
