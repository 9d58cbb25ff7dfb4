"""Tests of scripts/plot_micro.py on a small real rot13-micro output (micro-fixture.json:
dispatch/select and dispatch/epoll at N = 10, 100, 1000 with one active pair, where
select at N = 1000 is skipped; setup/select/fds:10; rot13/table/bytes:16; framing/memchr;
histogram/record; three repetitions each, with the library's aggregates)."""

import importlib.util
import json
import os
import statistics
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(ROOT, "scripts", "plot_micro.py")
FIXTURE = os.path.join(HERE, "fixtures", "micro.json")


def load_module():
    spec = importlib.util.spec_from_file_location("plot_micro", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fixture_data():
    with open(FIXTURE) as f:
        return json.load(f)


def repetitions_of(data, name):
    return [e for e in data["benchmarks"] if e["name"] == name and e.get("run_type") == "iteration"]


def test_dispatch_cost_is_the_median_cpu_time_per_event(fixture_data):
    runs = load_module().load_runs(fixture_data, "cpu")
    run = runs["dispatch/select/fds:100/active:1"]
    expected = statistics.median(e["cpu_time"] for e in repetitions_of(fixture_data, run.name))
    assert len(run.values) == 3
    assert run.median == pytest.approx(expected)


def test_real_time_can_be_chosen_instead(fixture_data):
    runs = load_module().load_runs(fixture_data, "real")
    run = runs["dispatch/epoll/fds:10/active:1"]
    expected = statistics.median(e["real_time"] for e in repetitions_of(fixture_data, run.name))
    assert run.median == pytest.approx(expected)


def test_kernel_throughput_is_in_gigabytes_per_second(fixture_data):
    runs = load_module().load_runs(fixture_data, "cpu")
    run = runs["rot13/table/bytes:16"]
    expected = statistics.median(16 / e["cpu_time"] for e in repetitions_of(fixture_data, run.name))
    assert run.median == pytest.approx(expected, rel=1e-6)


def test_setup_cost_is_per_setup_not_per_batch(fixture_data):
    runs = load_module().load_runs(fixture_data, "cpu")
    run = runs["setup/select/fds:10"]
    entries = repetitions_of(fixture_data, run.name)
    assert entries[0]["setups_per_iter"] == 100 and entries[0]["time_unit"] == "us"
    expected = statistics.median(e["cpu_time"] / e["setups_per_iter"] for e in entries)
    assert run.median == pytest.approx(expected)


def test_skipped_benchmarks_keep_their_reason(fixture_data):
    runs = load_module().load_runs(fixture_data, "cpu")
    run = runs["dispatch/select/fds:1000/active:1"]
    assert run.values == []
    assert "FD_SETSIZE" in run.error


def test_aggregates_only_files_use_the_library_medians(fixture_data):
    fixture_data["benchmarks"] = [e for e in fixture_data["benchmarks"] if e.get("run_type") == "aggregate"]
    runs = load_module().load_runs(fixture_data, "cpu")
    median_entry = next(e for e in fixture_data["benchmarks"]
                        if e["run_name"] == "dispatch/epoll/fds:100/active:1" and e["aggregate_name"] == "median")
    assert runs["dispatch/epoll/fds:100/active:1"].values == [pytest.approx(median_entry["cpu_time"])]


def test_writes_tables_and_chart(tmp_path):
    pytest.importorskip("matplotlib")
    result = subprocess.run([sys.executable, SCRIPT, FIXTURE, "--out", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "micro.md").read_text()
    assert "| select |" in text and "| epoll |" in text
    assert "skipped" in text and "`dispatch/select/fds:1000/active:1`" in text
    assert "## ROT13 kernels (GB/s)" in text and "## Framing" in text and "## Histogram" in text
    assert (tmp_path / "dispatch.png").stat().st_size > 0
    assert (tmp_path / "dispatch.svg").stat().st_size > 0


def test_without_matplotlib_writes_the_tables_and_says_so(tmp_path):
    # -S leaves out site-packages, where matplotlib lives; the marker stops the script
    # from re-running itself with another Python.
    env = dict(os.environ, ROT13_PLOT_MICRO_REEXEC="1")
    result = subprocess.run([sys.executable, "-S", SCRIPT, FIXTURE, "--out", str(tmp_path)],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 3
    assert "no Python with matplotlib" in result.stderr
    assert (tmp_path / "micro.md").exists()
    assert not (tmp_path / "dispatch.png").exists()
