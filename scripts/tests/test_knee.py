"""Knee searches (mode "knee") in scripts/report and scripts/compare, on a real search
(fixtures/results-knee.json: a server of known capacity and epoll, two repetitions, and a
target nothing meets) and on make_fixtures.build_knee_many() (six servers, three rounds)."""

import copy
import json

import pytest

from conftest import fixture_path, make_fixtures, run_script, write_json
from rot13charts import knee, report
from rot13charts.results import families, load_results, parse_results
from test_report import assert_valid_chart_files, linked_images, section, subsection

AT_20_MS = "knee search for p99 ≤ 20 ms over 10 connections"
AT_50_US = "knee search for p99 ≤ 0.05 ms over 10 connections"


@pytest.fixture(scope="module")
def report_knee(tmp_path_factory):
    out = tmp_path_factory.mktemp("report-knee")
    done = run_script("report", fixture_path("results-knee.json"), "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out, (out / "report.md").read_text(encoding="utf-8")


def knee_doc():
    with open(fixture_path("results-knee.json"), encoding="utf-8") as f:
        return json.load(f)


def test_knee_runs_are_cells_of_their_target():
    results = load_results(fixture_path("results-knee.json"))
    loads = knee.knee_loads(results)
    assert [load.describe() for load in loads] == [AT_50_US, AT_20_MS]
    assert all(load.rate is None and load.depth is None for load in loads)
    at_20 = {c.series.label: c for c in loads[next(lp for lp in loads if lp.p99_ms == 20)]}
    assert sorted(at_20) == ["capacity-5000", "epoll"]
    assert [r.repetition for r in at_20["capacity-5000"].runs] == [1, 2]


def test_a_skipped_knee_run_takes_its_target_from_its_id():
    doc = knee_doc()
    run = next(r for r in doc["runs"] if r["id"] == "epoll/knee-c10-p99ms20-idle0-s16/rep2")
    for key in ("knee", "summary", "server", "loadgen", "machine"):
        run.pop(key, None)
    run.update(status="skipped", reason="not built here")
    results = parse_results(doc)
    epoll = next(c for c in results.cells if c.series.label == "epoll")
    assert epoll.load.p99_ms == 20 and len(epoll.runs) == 2


def test_knee_runs_are_in_no_family_so_the_other_charts_leave_them_out():
    results = load_results(fixture_path("results-knee.json"))
    assert families(results.cells) == []
    mixed = make_fixtures.build_a()
    mixed["runs"] += knee_doc()["runs"]
    mixed_results = parse_results(mixed)
    alone = parse_results(make_fixtures.build_a())
    assert [(f.sweep, f.fixed, len(f.cells)) for f in families(mixed_results.cells)] == \
        [(f.sweep, f.fixed, len(f.cells)) for f in families(alone.cells)]


def test_the_knee_table_has_a_row_per_run_and_a_median_per_server(report_knee):
    _out, text = report_knee
    at_20 = subsection(section(text, "Knee"), AT_20_MS)
    assert "| capacity-5000 | 1 | 1,688 | 1,750 | 7 (5 passed) | 13.5 ms | 197 µs | 15 % |" in at_20
    assert "| capacity-5000 | 2 | 1,313 | 1,375 | 7 (4 passed) | 12.8 ms | 232 µs | 15 % |" in at_20
    assert "| **capacity-5000** | median, 2 of 2 | 1,500 (1,313 – 1,688) | 1,562 (1,375 – 1,750) | – |" in at_20


def test_a_knee_at_max_rate_says_so(report_knee):
    _out, text = report_knee
    at_20 = subsection(section(text, "Knee"), AT_20_MS)
    assert "| epoll | 1 | 40,000 | ≥ max_rate (nothing failed up to 40,000) | 8 (8 passed) | 12.9 ms |" in at_20


def test_a_search_where_nothing_passed_is_none_with_its_reason(report_knee):
    _out, text = report_knee
    at_50_us = subsection(section(text, "Knee"), AT_50_US)
    assert ("| capacity-5000 | 1 | none (no rate from 500 down to 8 lines/s kept the corrected p99 under 0.05 ms "
            "with no errors) | 8 | 7 (0 passed) | – | – | – |") in at_50_us


def test_knee_charts_are_written_in_the_knee_section_and_numbered_on(report_knee):
    out, text = report_knee
    knee_images = linked_images(section(text, "Knee"))
    # 20 ms: the rate chart and the probes; 0.05 ms: nothing passed, so only the probes.
    assert sorted(p.split("/")[-1] for p in knee_images) == [
        "knee-probes-knee-c10-s16-p99ms0.05.png", "knee-probes-knee-c10-s16-p99ms20.png",
        "knee-rate-knee-c10-s16-p99ms20.png"]
    for png in knee_images:
        assert_valid_chart_files(out, png)
    assert "No chart here: the file's runs are knee searches (section Knee)." in section(text, "Charts")
    assert "*Figure 1. " in subsection(section(text, "Knee"), AT_50_US)


def test_knee_loads_are_not_in_every_configuration(report_knee):
    _out, text = report_knee
    every = section(text, "Every configuration")
    assert "### knee search" not in every and "The knee searches have their tables in the section Knee." in every


def test_the_noise_floor_leaves_an_a_a_pairs_knee_searches_out():
    """Its CPU per line and p99 are at the rates each search chose: not the machine's noise."""
    doc = make_fixtures.build_paired()
    for run in knee_doc()["runs"]:
        if run["config"]["server"] == "epoll":
            doc["runs"].append(run)
            twin = copy.deepcopy(run)
            twin["id"] = run["id"].replace("epoll/", "epoll-A2/")
            twin["config"]["server"] = "epoll-A2"
            doc["runs"].append(twin)
    doc["suite"]["order"] += [r["id"] for r in doc["runs"] if r["config"]["mode"] == "knee"]
    results = parse_results(doc)
    floors = report.noise.noise_floors(results, report.metrics.CPU_PER_LINE)
    assert [p.load.describe() for f in floors for p in f.points] == ["closed loop, 100 connections"]


def test_a_file_without_knee_runs_has_no_knee_section(report_a):
    _out, text, _done = report_a
    assert "## Knee" not in text and "knee search" not in text


def test_knee_claims_compare_the_knee_rate_only(tmp_path):
    done = run_script("report", write_json(tmp_path / "results.json", make_fixtures.build_knee_many()))
    assert done.returncode == 0, done.stderr
    claims = subsection(section((tmp_path / "report.md").read_text(encoding="utf-8"), "Claims"), AT_20_MS)
    assert "- Best knee rate: **io_uring** (1,913 [" in claims
    assert "**epoll** reaches a higher knee than **poll** (" in claims and "paired, 3 rounds" in claims
    for word in ("throughput", "p99 latency", "CPU per line"):
        assert word not in claims


def test_rate_bars_have_the_median_and_the_range_of_the_repetitions(monkeypatch, tmp_path):
    drawn = {}

    def keep(fig, out_dir, stem, title, caption, section=""):
        ax = fig.axes[0]
        drawn[stem] = {"widths": [round(p.get_width()) for p in ax.patches], "notes": knee.plotting.note_lines(fig),
                       "hatched": [bool(p.get_hatch()) for p in ax.patches],
                       "titles": [a.get_title() for a in fig.axes if a.get_visible()]}
        knee.plotting.plt.close(fig)
    monkeypatch.setattr(knee.plotting, "save", keep)
    results = load_results(fixture_path("results-knee.json"))
    knee.knee_charts(results, knee.plotting.Styles(results.series), str(tmp_path), results.context)
    bars = drawn["knee-rate-knee-c10-s16-p99ms20"]
    assert bars["widths"] == [40000, 1500] and bars["hatched"] == [True, False]
    assert "≥ epoll: max_rate passed (40,000 lines/s): the knee is at least that" in bars["notes"]
    assert drawn["knee-probes-knee-c10-s16-p99ms20"]["titles"] == ["epoll: knee ≥ 40,000",
                                                                   "capacity-5000: knee 1,500"]
    assert drawn["knee-probes-knee-c10-s16-p99ms0.05"]["titles"] == ["capacity-5000: no knee"]


def test_a_server_without_a_knee_is_a_cross_with_its_reason(monkeypatch, tmp_path):
    doc = knee_doc()
    for run in doc["runs"]:  # capacity-5000's 0.05 ms runs join the 20 ms search of epoll
        run["id"] = run["id"].replace("p99ms0.05", "p99ms20")
        if run["knee"]["p99_ms"] == 0.05:
            run["knee"]["p99_ms"] = 20.0
    doc["runs"] = [r for r in doc["runs"] if not (r["config"]["server"] == "capacity-5000" and r["status"] == "ok")]
    notes = []

    def keep(fig, *args, **kwargs):
        notes.extend(knee.plotting.note_lines(fig))
        knee.plotting.plt.close(fig)
    monkeypatch.setattr(knee.plotting, "save", keep)
    results = parse_results(doc)
    knee.knee_charts(results, knee.plotting.Styles(results.series), str(tmp_path), results.context)
    assert "✕ capacity-5000: no knee in 2/2 runs (no rate from 500 down to 8 lines/s kept the corrected p99 under " \
           "0.05 ms with no errors)" in notes


def test_compare_lists_knee_rates_and_nothing_else_of_a_knee_search(tmp_path):
    other = knee_doc()
    for run in other["runs"]:
        if run["knee"]["rate"] is not None and run["config"]["server"] == "capacity-5000":
            run["knee"]["rate"] *= 1.2
    done = run_script("compare", fixture_path("results-knee.json"), write_json(tmp_path / "b.json", other),
                      "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "out" / "compare.md").read_text(encoding="utf-8")
    ratios = section(text, "Ratios")
    assert [line.split("### ")[1] for line in ratios.splitlines() if line.startswith("### ")] == ["Knee rate"]
    assert f"| epoll | {AT_20_MS} | 40,000 (n=2, no interval) (≥ max_rate) |" in ratios
    assert f"| capacity-5000 | {AT_20_MS} | 1,500 (n=2, no interval) | 1,801 (n=2, no interval) | 1.200 |" in ratios
    assert f"| capacity-5000 | {AT_50_US} | n/a (all runs failed) | n/a (all runs failed) |" in ratios


def test_compare_of_a_knee_file_and_a_closed_loop_file_lists_each_side(tmp_path):
    done = run_script("compare", fixture_path("results-a.json"), fixture_path("results-knee.json"),
                      "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "compare.md").read_text(encoding="utf-8")
    assert f"- epoll: {AT_20_MS}" in section(text, "Configurations in one file only")


def test_cross_os_puts_knee_rates_side_by_side():
    from rot13charts import crossos
    linux, other = knee_doc(), copy.deepcopy(knee_doc())
    other["context"].update(os="FreeBSD 14.3-RELEASE", kernel="FreeBSD 14.3-RELEASE")
    sides = crossos.sides_of([parse_results(linux, "linux.json"), parse_results(other, "freebsd.json")])
    text = "\n".join(crossos.cross_os_lines(sides, []))
    side_by_side = text.split("## The same configurations side by side")[1]
    assert [line for line in side_by_side.splitlines() if line.startswith("### ")] == ["### Knee rate"]
    assert f"| capacity-5000 | {AT_20_MS} | 1,500 (n=2, no interval) | 1,500 (n=2, no interval) |" in side_by_side
