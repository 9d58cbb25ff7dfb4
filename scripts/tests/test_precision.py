"""The report's Precision section (rot13-bench run --precision), on two real short runs:
fixtures/results-precision.json (epoll and select, --precision 30: stopped on the target
after 3 extra rounds) and results-precision-budget.json (--precision 2 --budget 2: stopped
on the budget, 5 runs each, too few for the interval)."""

import json

import pytest

from conftest import fixture_path, run_script, write_json
from rot13charts import precision
from rot13charts.results import parse_results
from test_report import section


def report_of(tmp_path, name, change=None):
    with open(fixture_path(name), encoding="utf-8") as f:
        doc = json.load(f)
    if change:
        change(doc)
    done = run_script("report", write_json(tmp_path / "results.json", doc))
    assert done.returncode == 0, done.stderr
    return (tmp_path / "report.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def on_target(tmp_path_factory):
    return report_of(tmp_path_factory.mktemp("precision"), "results-precision.json")


def test_the_section_states_target_budget_time_stop_and_rounds(on_target):
    text = section(on_target, "Precision")
    assert "`--precision 30`" in text
    assert "- **Target**: ±30 % for both figures; **budget**: 30 s of extra rounds; **spent**: 4.8 s; " \
           "**extra rounds**: 3." in text
    assert "- **Stopped**: every configuration was within the target. 2 of 2 configurations within ±30 %." in text
    assert "order statistics" in text


def test_a_row_per_configuration_with_each_figures_interval_and_reach(on_target):
    text = section(on_target, "Precision")
    assert "| epoll | closed loop, 10 connections | 6 | 6 | 10.7 µs [10.3 µs – 11.1 µs], ±3.9 % | " \
           "18,885 [17,463 – 21,057], ±11.5 % | yes |" in text
    assert "| select | closed loop, 10 connections | 6 | 6 |" in text


def test_a_run_stopped_by_the_budget_says_so_and_which_are_not_within(tmp_path):
    text = section(report_of(tmp_path, "results-precision-budget.json"), "Precision")
    assert "- **Stopped**: the budget was spent" in text and "0 of 2 configurations within ±2 %." in text
    assert "**spent**: 3.0 s" in text and "**extra rounds**: 2." in text
    assert "| epoll | closed loop, 10 connections | 5 | 5 | 10.8 µs (no interval: 5 ok runs, it needs 6) | " \
           "17,673 (no interval: 5 ok runs, it needs 6) | **no** |" in text


def test_a_file_without_precision_has_no_section(report_a):
    _out, text, _done = report_a
    assert "## Precision" not in text and "--precision" not in text


def test_missing_and_null_parts_read_n_a():
    """Null-safe: a configuration the file does not have, no ok run, fields left out."""
    with open(fixture_path("results-precision.json"), encoding="utf-8") as f:
        doc = json.load(f)
    record = doc["precision"]
    record.pop("spent_s")
    record["stopped"] = "interrupted"
    record["configurations"].append({"cell": "poll/closed-c10-d1-idle0-s16", "repetitions": 3, "ok": 0,
                                     "cpu_us_per_line": {"n": 0, "median": None, "low": None, "high": None,
                                                         "half_width_percent": None},
                                     "lines_per_s": None, "within_target": False})
    text = "\n".join(precision.precision_lines(parse_results(doc)))
    assert "**spent**: n/a" in text and "- **Stopped**: the run was interrupted." in text
    assert "| poll/closed-c10-d1-idle0-s16 | n/a | 3 | 0 | n/a (no ok run) | n/a (no ok run) | **no** |" in text
