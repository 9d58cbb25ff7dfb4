"""scripts/report on the fixture: what the report lists, the charts it writes, the claims
it makes."""

import os
import re
import xml.etree.ElementTree as ET

from conftest import make_fixtures, run_script, write_json

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def section(text, heading):
    """The text of a "## heading" section, up to the next "## "."""
    start = text.index(f"## {heading}")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


def subsection(text, heading):
    start = text.index(f"### {heading}\n")
    end = text.find("\n### ", start + 1)
    return text[start:end if end >= 0 else len(text)]


def linked_images(text):
    return re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", text)


def assert_valid_chart_files(out, png):
    png_path = os.path.join(out, png)
    svg_path = png_path[:-4] + ".svg"
    with open(png_path, "rb") as f:
        data = f.read()
    assert data.startswith(PNG_MAGIC), png
    assert len(data) > 10_000, f"{png}: only {len(data)} bytes"
    root = ET.parse(svg_path).getroot()
    assert root.tag.endswith("svg")
    assert os.path.getsize(svg_path) > 10_000


def test_report_lists_every_server_and_backend(report_a):
    _out, text, _done = report_a
    servers = section(text, "Servers and backends")
    for row in ("| select | – | select |", "| epoll | – | epoll |", "| kqueue | – | kqueue |",
                "| libevent-bufferevent | epoll | libevent-bufferevent |"):
        assert row in servers
    assert "FD_SETSIZE" in servers
    assert "Not built on this machine: **kqueue**" in servers


def test_report_lists_every_failed_and_skipped_run_with_its_reason(report_a):
    _out, text, _done = report_a
    problems = section(text, "Failed, skipped and erroneous runs")
    for rep in (1, 2, 3):
        assert f"`select/closed-c2000-d1-idle0-s16/rep{rep}`" in problems
    assert "error rate 0.488000 exceeds" in problems
    assert "`libevent-bufferevent+epoll/closed-c100-d1-idle0-s16/rep2` | signal SIGPIPE" in problems
    assert "server died during the run after 0.7 s (signal SIGPIPE)" in problems
    assert "| kqueue | 9 | not built here" in problems
    assert "`libevent-bufferevent+epoll/closed-c10-d1-idle1000-s16/rep3` | reset 3 |" in problems


def test_every_chart_is_written_valid_and_captioned(report_a):
    out, text, _done = report_a
    images = linked_images(text)
    expected = {"throughput-vs-connections", "p99-vs-connections", "spectrum-vs-connections",
                "cpu-vs-connections", "rss-vs-connections", "latency-vs-offered-load", "idle-scaling",
                "rss-vs-idle"}
    found = {os.path.basename(p) for p in images}
    for prefix in expected:
        assert any(name.startswith(prefix) for name in found), f"no {prefix} chart in {sorted(found)}"
    for png in images:
        assert_valid_chart_files(out, png)
    # One caption per chart, numbered, with its SVG.
    captions = re.findall(r"^\*Figure (\d+)\. .+\* \(\[SVG\]\((charts/[^)]+\.svg)\)\)$", text, re.M)
    assert [int(n) for n, _svg in captions] == list(range(1, len(images) + 1))
    assert len(os.listdir(out / "charts")) == 2 * len(images)


def test_claims_follow_the_interval_rule(report_a):
    _out, text, _done = report_a
    claims = section(text, "Claims")
    # 100 connections: epoll's and select's intervals are far apart.
    at_100 = subsection(claims, "closed loop, 100 connections")
    assert "**epoll** is faster than **select**" in at_100
    # 1 connection: both at 20,000 lines/s, intervals overlap.
    at_1 = subsection(claims, "closed loop, 1 connection")
    assert "No measurable difference in throughput: epoll vs select (" in at_1
    assert "is faster than" not in at_1
    # libevent-bufferevent has two repetitions left at 100 connections: no interval, no claim.
    assert "libevent-bufferevent/epoll" not in at_100
    # Open loop: throughput is the offered rate, so no throughput claim is made.
    assert "throughput" not in subsection(claims, "open loop at 20,000 lines/s over 10 connections")


FINDING = re.compile(r"\*\*([^*]+)\*\* (is faster than|has a lower p99 latency than|uses less CPU per line than) "
                     r"\*\*([^*]+)\*\* \((.+?) vs (.+?); (\S+) ÷ (\S+) = (\d\.\d+) \[(\d\.\d+) – (\d\.\d+)\], "
                     r"paired, (\d+) rounds\)\.")


def test_claims_match_the_printed_ratios(report_a):
    """Every finding's paired ratio has an interval that excludes 1 on the side the
    sentence claims, and the winner's median is the better one; every "no measurable
    difference" says within how much."""
    _out, text, _done = report_a
    matches = FINDING.findall(section(text, "Claims"))
    assert len(matches) >= 10
    for winner, phrase, loser, fig_w, fig_l, first, second, r, low, high, rounds in matches:
        r, low, high = float(r), float(low), float(high)
        assert low <= r <= high and not low <= 1 <= high, (winner, loser, r, low, high)
        assert {winner, loser} == {first, second} and int(rounds) == 3
        higher_is_better = phrase == "is faster than"
        assert (winner == first) == ((low > 1) == higher_is_better)
        if higher_is_better:
            median_w, median_l = (int(f.split(" [")[0].replace(",", "")) for f in (fig_w, fig_l))
            assert median_w > median_l
    same = [line for line in section(text, "Claims").splitlines()
            if line.startswith("- No measurable difference in throughput: ")]
    assert same
    for line in same:
        for entry in line.split(": ", 1)[1].split("; "):
            if " vs " in entry and "within" in entry:
                assert re.search(r" vs \S+ \(within ±\d+\.\d %, paired, 3 rounds$", entry), entry


def test_p99_with_too_few_samples_says_so(report_a):
    _out, text, _done = report_a
    table = subsection(section(text, "Every configuration"), "open loop at 200 lines/s over 10 connections")
    assert "n/a (396 samples; p99 needs 1,000)" in table
    assert "p99 needs 1,000 latency samples in every repetition" in section(text, "How to read the numbers")


def test_failed_and_partial_configurations_are_marked_in_the_tables(report_a):
    _out, text, _done = report_a
    at_2000 = subsection(section(text, "Every configuration"), "closed loop, 2,000 connections")
    assert "| select | 0/3 | n/a (all runs failed) |" in at_2000
    at_100 = subsection(section(text, "Every configuration"), "closed loop, 100 connections")
    assert "| libevent-bufferevent/epoll | 2/3 |" in at_100 and "(n=2, no interval)" in at_100


def test_report_is_reproducible(report_a, tmp_path):
    _out, text, _done = report_a
    from conftest import fixture_path
    done = run_script("report", fixture_path("results-a.json"), "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "report.md").read_text(encoding="utf-8") == text


def test_report_defaults_to_the_results_directory(tmp_path):
    doc = make_fixtures.build_a()
    doc["runs"] = [r for r in doc["runs"] if r["config"]["mode"] == "open"]
    results = write_json(tmp_path / "results.json", doc)
    done = run_script("report", results)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(tmp_path / "report.md")
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    images = linked_images(text)
    assert images and all(os.path.exists(tmp_path / p) for p in images)


def test_report_without_optional_sections_still_works(tmp_path):
    doc = make_fixtures.build_a()
    doc["runs"] = [r for r in doc["runs"] if r["config"]["connections"] != 10]
    for run in doc["runs"]:
        for key in ("histograms", "timeseries", "loadgen", "server"):
            run.pop(key, None)
    doc["context"] = {}
    results = write_json(tmp_path / "results.json", doc)
    done = run_script("report", results, "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "| host | n/a |" in text
    for png in linked_images(text):
        assert_valid_chart_files(tmp_path / "out", png)


def test_report_of_only_skipped_runs_has_no_charts_and_says_why(tmp_path):
    doc = make_fixtures.build_a()
    doc["runs"] = [r for r in doc["runs"] if r["status"] == "skipped"]
    done = run_script("report", write_json(tmp_path / "results.json", doc))
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "No chart" in text and "| kqueue | 9 | not built here" in text


def test_micro_benchmarks_are_charted_and_linked(tmp_path):
    from conftest import fixture_path
    doc = make_fixtures.build_a()
    doc["runs"] = [r for r in doc["runs"] if r["config"]["mode"] == "open"]
    done = run_script("report", write_json(tmp_path / "results.json", doc), "--micro", fixture_path("micro.json"))
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "![event dispatch cost](micro/dispatch.png)" in text
    with open(tmp_path / "micro" / "dispatch.png", "rb") as f:
        assert f.read(8) == PNG_MAGIC
    assert (tmp_path / "micro" / "micro.md").exists()
