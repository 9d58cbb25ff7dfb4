"""Paired comparisons (rot13charts.paired) and the noise floor (rot13charts.noise): runs
paired by round of the interleaved order, the ratio's bootstrap interval, "within ±x %",
unpaired data said to be unpaired, the A/A pair's minimum detectable difference, and the
report's sections built from them."""

import math
import re

import pytest

from conftest import make_fixtures
from rot13charts import metrics, noise, paired, report, stats
from rot13charts.results import parse_results

# Each round's figures move together by up to 30 % (the drift), each run on its own by 2 %.
DRIFT = (1.0, 1.2, 0.9, 1.3, 1.1)


def results_of(**kwargs):
    return parse_results(make_fixtures.build_paired(**kwargs), "paired.json")


def cells(results):
    by_server = {c.series.server: c for c in results.cells}
    return by_server["epoll"], by_server["poll"], by_server.get("epoll-A2")


def test_pairs_are_the_runs_of_the_same_round():
    results = results_of()
    epoll, poll, _aa = cells(results)
    pairs = paired.round_pairs(epoll, poll, metrics.CPU_PER_LINE, paired.order_index(results))
    assert len(pairs) == len(DRIFT)
    for (a, b, distance), factor in zip(pairs, DRIFT):
        assert b / a == pytest.approx(1.05, rel=0.05)
        assert 5.0 * factor * 0.97 < a < 5.0 * factor * 1.03
        assert 1 <= distance <= 2  # three runs per round


def test_a_difference_hidden_by_drift_is_found_when_paired():
    """5 % more CPU per line, under 30 % drift between rounds: the two servers' intervals
    overlap, but their paired ratio's interval excludes 1."""
    results = results_of(cpu_ratio=1.05)
    epoll, poll, _aa = cells(results)
    assert metrics.cell_figure(epoll, metrics.CPU_PER_LINE).estimate.overlaps(
        metrics.cell_figure(poll, metrics.CPU_PER_LINE).estimate)
    c = paired.compare_cells(epoll, poll, metrics.CPU_PER_LINE, paired.order_index(results))
    assert c.paired and c.how() == "paired, 5 rounds"
    assert c.excludes_one()
    assert 1.0 < c.ratio.low <= c.ratio.median <= c.ratio.high < 1.1
    assert c.ratio.median == pytest.approx(1.05, abs=0.02)


def test_no_difference_is_within_x_percent_from_the_interval():
    results = results_of(cpu_ratio=1.0)
    epoll, poll, _aa = cells(results)
    c = paired.compare_cells(epoll, poll, metrics.CPU_PER_LINE, paired.order_index(results))
    assert c.paired and not c.excludes_one()
    x = stats.within_percent(c.ratio)
    assert 0 < x < 6
    assert x == pytest.approx(100 * max(c.ratio.high - 1, 1 - c.ratio.low))
    assert paired.within_text(c) == f"within ±{x:.1f} %"


def test_unpaired_data_is_compared_by_medians_and_says_so():
    results = results_of(cpu_ratio=1.05, order=False)
    epoll, poll, _aa = cells(results)
    c = paired.compare_cells(epoll, poll, metrics.CPU_PER_LINE, paired.order_index(results))
    assert not c.paired and c.how() == "unpaired"
    # Without the pairing the drift swamps the 5 %: no finding.
    assert c.has_interval and not c.excludes_one()
    text = "\n".join(report.claims(results))
    assert "epoll vs poll (within ±" in text and "unpaired" in text and "paired, 5 rounds" not in text


def test_report_states_the_paired_finding(tmp_path):
    results = results_of(cpu_ratio=1.05)
    text = "\n".join(report.claims(results))
    assert "**epoll** uses less CPU per line than **poll** (" in text
    assert re.search(r"; epoll ÷ poll = 0\.9\d\d \[0\.9\d\d – 0\.9\d\d\], paired, 5 rounds\)\.", text)


def test_rounds_where_one_side_failed_are_left_out():
    doc = make_fixtures.build_paired()
    for run in doc["runs"]:
        if run["config"]["server"] == "poll" and run["config"]["repetition"] == 2:
            run["status"], run["reason"] = "failed", "server died during the run (signal SIGSEGV)"
    results = parse_results(doc, "paired.json")
    epoll, poll, _aa = cells(results)
    c = paired.compare_cells(epoll, poll, metrics.CPU_PER_LINE, paired.order_index(results))
    assert c.paired and c.ratio.n == 4


def test_the_aa_pair_is_found_by_its_command_line():
    results = results_of()
    assert [(a.label, b.label) for a, b in noise.aa_pairs(results)] == [("epoll", "epoll-A2")]
    assert noise.aa_pairs(results_of(aa=False)) == []


def test_minimum_detectable_difference_is_the_aa_interval_reach():
    results = results_of()
    (floor,) = noise.noise_floors(results, metrics.CPU_PER_LINE)
    (point,) = floor.points
    r = point.comparison.ratio
    assert point.comparison.paired and r.low <= 1 <= r.high
    assert point.mdd_percent == pytest.approx(100 * max(r.high - 1, 1 - r.low))
    # Two runs with 2 % jitter each: their ratio lies within about ±4 %, whatever the drift.
    assert 0.5 < floor.mdd_percent < 4.5


def test_report_prints_the_noise_floor_or_says_it_has_none():
    with_aa = "\n".join(report.noise_lines(results_of()))
    assert "minimum detectable difference" in with_aa
    assert "| server CPU per line | epoll / epoll-A2 | closed loop, 100 connections | ratio " in with_aa
    assert "**Noise floor, server CPU per line: ±" in with_aa
    without = "\n".join(report.noise_lines(results_of(aa=False)))
    assert "no A/A pair" in without and "no noise floor" in without
    assert "Noise floor: none measured" in "\n".join(report.claims_preamble(results_of(aa=False)))


def test_alert_threshold_from_the_aa_rounds():
    results = results_of(spread=0.05)
    percent, how = noise.alert_threshold(results)
    logs = noise.aa_log_ratios(results)
    assert len(logs) == len(DRIFT)
    raw = 100 * math.exp(sorted(logs)[-1] * 0.8 + sorted(logs)[-2] * 0.2)  # numpy's 95th percentile of 5
    assert percent % 5 == 0 and raw <= percent < raw + 5 or percent == noise.MIN_THRESHOLD_PERCENT
    assert f"{percent}%" in how and "epoll vs epoll-A2" in how


def test_alert_threshold_needs_an_aa_pair():
    with pytest.raises(noise.NoNoiseMeasurement, match="no A/A pair"):
        noise.alert_threshold(results_of(aa=False))
    with pytest.raises(noise.NoNoiseMeasurement, match="at least 5"):
        noise.alert_threshold(results_of(drift=(1.0, 1.1, 0.9)))


def test_the_chapters_pairs_find_a_variant_whose_label_carries_a_note():
    """kqueue on Linux is named "kqueue (libkqueue on Linux)"; the pair kqueue vs poll still
    finds it, and the sentence names it with its note."""
    doc = make_fixtures.build_paired(cpu_ratio=1.05, aa=False)
    for run in doc["runs"]:
        if run["config"]["server"] == "epoll":
            run["config"].update(server="kqueue", variant="kqueue", note="libkqueue on Linux")
            run["id"] = run["id"].replace("epoll/", "kqueue/", 1)
    doc["suite"]["order"] = [r["id"] for r in doc["runs"]]
    text = "\n".join(report.claims(parse_results(doc, "paired.json")))
    assert "**kqueue (libkqueue on Linux)** uses less CPU per line than **poll**" in text
