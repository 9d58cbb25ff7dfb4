"""scripts/compare on two fixture files: matching, ratios, missing runs, charts."""

import os
import re
import subprocess

from conftest import SCRIPTS, fixture_path, make_fixtures, run_script, write_json
from test_report import assert_valid_chart_files, linked_images, section


def rows(text, heading):
    return [line for line in section(text, "Ratios").split(f"### {heading}")[1].split("\n### ")[0].splitlines()
            if line.startswith("| ") and not line.startswith("| server")]


def test_configurations_on_one_side_are_listed(compare_ab):
    _out, text, _done = compare_ab
    missing = section(text, "Configurations in one file only")
    assert "Only in A (bench-a) (1):" in missing
    assert "- libevent-bufferevent/epoll: closed loop, 2,000 connections" in missing
    assert "Only in B (bench-b) (1):" in missing
    assert "- poll: closed loop, 100 connections" in missing


def test_ratio_with_interval_decides_the_verdict(compare_ab):
    _out, text, _done = compare_ab
    throughput = rows(text, "Throughput")
    epoll_100 = next(r for r in throughput if r.startswith("| epoll | closed loop, 100 connections |"))
    ratio = float(re.search(r"\| (\d\.\d{3}) \[(\d\.\d{3}) – (\d\.\d{3})\] \|", epoll_100).group(1))
    assert 1.25 < ratio < 1.35
    assert epoll_100.endswith("| B (bench-b) better |")
    select_100 = next(r for r in throughput if r.startswith("| select | closed loop, 100 connections |"))
    assert select_100.endswith("| no measurable difference |")
    # Two repetitions on each side: a ratio, but no interval and no verdict.
    libevent_100 = next(r for r in throughput
                        if r.startswith("| libevent-bufferevent/epoll | closed loop, 100 connections |"))
    assert libevent_100.endswith("| n/a (no interval) |")
    # A configuration whose runs all failed on both sides is still a row, with n/a.
    assert any(r.startswith("| select | closed loop, 2,000 connections | n/a (all runs failed)") for r in throughput)


def test_overlay_charts_are_valid(compare_ab):
    out, text, _done = compare_ab
    images = linked_images(text)
    assert any("compare-throughput-vs-connections" in p for p in images)
    for png in images:
        assert_valid_chart_files(out, png)


def test_a_file_compared_with_itself_has_no_difference(tmp_path):
    path = fixture_path("results-a.json")
    done = run_script("compare", path, path, "--out", str(tmp_path), "--labels", "old", "new")
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "compare.md").read_text(encoding="utf-8")
    assert "Every configuration is in both files." in text
    assert "new better" not in text and "old better" not in text
    assert "| 1.000 [" in text


def test_default_output_directory_is_named_after_both_sides(tmp_path):
    small = make_fixtures.build_a()
    small["runs"] = [r for r in small["runs"] if r["config"]["mode"] == "open"]
    for side in ("old", "new"):
        (tmp_path / side).mkdir()
        write_json(tmp_path / side / "results.json", small)
    done = subprocess.run([os.path.join(SCRIPTS, "compare"), "old/results.json", "new"], capture_output=True,
                          text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert os.path.exists(tmp_path / "compare-old-vs-new" / "compare.md")
