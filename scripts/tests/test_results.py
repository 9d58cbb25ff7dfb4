"""Reading results files (rot13charts.results, rot13charts.metrics): strict about the fixed
keys, tolerant about the rest."""

import copy
import re

import pytest

from conftest import fixture_path, make_fixtures
from rot13charts import metrics
from rot13charts.results import ResultsError, families, load_results, parse_results


def test_fixture_groups_runs_into_cells_and_series():
    results = load_results(fixture_path("results-a.json"))
    labels = [s.label for s in results.series]
    assert labels == ["select", "epoll", "kqueue", "libevent-bufferevent/epoll"]
    cell = results.cell_map()[("select", None, next(c.load for c in results.cells
                                                   if c.series.server == "select" and c.load.connections == 2000))]
    assert len(cell.runs) == 3 and len(cell.failed_runs) == 3
    assert [r.repetition for r in cell.runs] == [1, 2, 3]


def test_a_note_follows_the_server_wherever_it_is_named():
    # On Linux the kqueue variant is libkqueue's emulation over epoll: rot13-bench records
    # config.note, and every label says so, while matching (compare, cells) ignores it.
    doc = make_fixtures.build_a()
    for run in doc["runs"]:
        if run["config"]["server"] == "kqueue":
            run["config"]["note"] = "libkqueue on Linux"
    results = parse_results(doc)
    kqueue = next(s for s in results.series if s.server == "kqueue")
    assert kqueue.label == "kqueue (libkqueue on Linux)" and kqueue.name == kqueue.label
    assert "epoll" in [s.label for s in results.series]
    assert any(key[0] == "kqueue" and key[1] is None for key in results.cell_map())


def test_a_directory_means_its_results_json(tmp_path):
    (tmp_path / "results.json").write_text(open(fixture_path("results-a.json")).read())
    assert len(load_results(str(tmp_path)).runs) == 66


def test_families_sweep_connections_idle_and_rate():
    results = load_results(fixture_path("results-a.json"))
    found = {(f.sweep, f.mode): f.xs for f in families(results.cells)}
    assert found[("connections", "closed")] == [1, 10, 100, 2000]
    assert found[("idle", "closed")] == [0, 1000]
    assert found[("rate", "open")] == [200, 20000]


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.pop("runs"), 'missing "runs"'),
    (lambda d: d.update(schema_version=2), "schema_version 2 is not supported"),
    (lambda d: d["runs"][0].pop("status"), 'runs[0]: missing "status"'),
    (lambda d: d["runs"][0].update(status="maybe"), "runs[0].status: expected one of ok, failed, skipped"),
    (lambda d: d["runs"][1]["config"].update(mode="sideways"),
     'runs[1].config.mode: expected "closed", "open" or "knee"'),
    (lambda d: d["runs"][2]["config"].update(connections="many"), "runs[2].config.connections: expected an integer"),
    (lambda d: d["runs"][3]["config"].pop("server"), 'runs[3].config: missing "server"'),
    (lambda d: d["runs"].append(copy.deepcopy(d["runs"][0])), "repeats runs[0]"),
])
def test_fixed_keys_are_checked_and_named(mutate, message):
    doc = make_fixtures.build_a()
    mutate(doc)
    with pytest.raises(ResultsError, match=re.escape(message)):
        parse_results(doc, "x/results.json")


def test_missing_optional_sections_read_as_not_available():
    doc = make_fixtures.build_a()
    for run in doc["runs"]:
        for key in ("histograms", "timeseries", "loadgen", "server"):
            run.pop(key, None)
        if run.get("summary"):
            run["summary"].pop("latency_ns")
    results = parse_results(doc)
    cell = next(c for c in results.cells if c.ok_runs)
    assert metrics.cell_figure(cell, metrics.THROUGHPUT).estimate is not None
    for metric in (metrics.P99, metrics.CPU_PER_LINE, metrics.RSS_PER_CONNECTION):
        figure = metrics.cell_figure(cell, metric)
        assert figure.estimate is None and figure.format(metric).startswith("n/a")


def test_p99_needs_a_thousand_samples_in_every_repetition():
    results = load_results(fixture_path("results-a.json"))
    slow_open = next(c for c in results.cells if c.load.mode == "open" and c.load.rate == 200)
    figure = metrics.cell_figure(slow_open, metrics.P99)
    assert figure.estimate is None and "p99 needs 1,000" in figure.note
    assert metrics.cell_figure(slow_open, metrics.P50).estimate is not None
    assert metrics.P99_MIN_SAMPLES == 1000


def test_cpu_per_line_falls_back_to_lifetime_cpu():
    doc = make_fixtures.build_a()
    run = next(r for r in doc["runs"] if r["status"] == "ok")
    run["server"]["cpu_us_per_line"] = None
    parsed = parse_results(doc).runs
    mine = next(r for r in parsed if r.id == run["id"])
    assert metrics.cpu_us_per_line_source(mine) == "lifetime"
    assert metrics.CPU_PER_LINE.value(mine) > 0


def test_formats():
    assert metrics.format_latency(850) == "850 ns"
    assert metrics.format_latency(12_345) == "12.3 µs"
    assert metrics.format_latency(4_560_000) == "4.56 ms"
    assert metrics.format_rate(61234.4) == "61,234"
