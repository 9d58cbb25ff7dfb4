"""scripts/export-benchmark, scripts/alert-threshold and scripts/check-regressions on
fixtures: the shape github-action-benchmark reads, stable and unique names, the values,
the micro-benchmarks reduced to one row each, the threshold from the A/A pair, and
regressions listed, rerun and confirmed."""

import copy
import json
import re

import pytest

from conftest import fixture_path, make_fixtures, run_script, write_json
from rot13charts import export, metrics, regressions
from rot13charts.results import load_results, parse_results

ENTRY_KEYS = {"name", "unit", "value", "range", "extra"}


@pytest.fixture(scope="module")
def exported():
    with open(fixture_path("micro.json"), encoding="utf-8") as f:
        micro = json.load(f)
    return export.export(load_results(fixture_path("results-a.json")), micro)


def test_export_has_the_shape_the_action_reads(exported):
    entries, _left_out = exported
    assert entries
    for e in entries:
        assert set(e) <= ENTRY_KEYS and {"name", "unit", "value", "extra"} <= set(e)
        assert isinstance(e["value"], float) and isinstance(e["extra"], str) and isinstance(e["name"], str)
        if "range" in e:
            assert re.fullmatch(r"± \d+(\.\d+)?(e-?\d+)?", e["range"]), e["range"]


def test_names_are_unique_and_stable(exported):
    entries, _ = exported
    names = [e["name"] for e in entries]
    assert len(names) == len(set(names))
    again, _ = export.export(load_results(fixture_path("results-a.json")))
    assert [e["name"] for e in again] == [n for n in names if not n.startswith("micro/")]
    # The harness's run id without the repetition: the same configuration, the same name.
    assert "epoll/closed-c100-d1-idle0-s16" in names and "libevent-bufferevent+epoll/closed-c10-d1-idle1000-s16" in names


def test_configuration_values_are_the_report_medians(exported):
    entries, left_out = exported
    results = load_results(fixture_path("results-a.json"))
    cell = next(c for c in results.cells if c.series.label == "epoll" and c.load.connections == 100
                and c.load.mode == "closed" and not c.load.idle)
    e = next(e for e in entries if e["name"] == "epoll/closed-c100-d1-idle0-s16")
    cpu = metrics.cell_figure(cell, metrics.CPU_PER_LINE).estimate
    assert e["unit"] == "µs/line" and e["value"] == pytest.approx(cpu.median, rel=1e-3)
    half = max(cpu.median - cpu.low, cpu.high - cpu.median)
    assert float(e["range"][2:]) == pytest.approx(half, rel=0.05)
    assert "lines/s: " + metrics.cell_figure(cell, metrics.THROUGHPUT).format(metrics.THROUGHPUT) in e["extra"]
    assert "p99: " in e["extra"] and "commit: 0123456789abcdef" in e["extra"]
    # Every run failed: no value, said; skipped everywhere (kqueue not built): not tracked.
    assert left_out[0] == "select/closed-c2000-d1-idle0-s16 (all runs failed)"
    assert not any(n.startswith("kqueue/") for n in [e["name"] for e in entries] + left_out)
    # Two repetitions left: a value without a range.
    partial = next(e for e in entries if e["name"] == "libevent-bufferevent+epoll/closed-c100-d1-idle0-s16")
    assert "range" not in partial and "repetitions: 2/3 ok" in partial["extra"]


def test_micro_benchmarks_are_one_row_each_with_the_median(exported):
    entries, left_out = exported
    with open(fixture_path("micro.json"), encoding="utf-8") as f:
        rows = json.load(f)["benchmarks"]
    micro = [e for e in entries if e["name"].startswith("micro/")]
    assert not any(re.search(r"_(mean|median|stddev|cv)$", e["name"]) for e in micro)
    iterations = [r for r in rows if r.get("run_type") == "iteration" and not r.get("error_occurred")]
    assert len(micro) == len({r["run_name"] for r in iterations})
    e = next(e for e in micro if e["name"] == "micro/dispatch/select/fds:100/active:1")
    times = sorted(r["cpu_time"] for r in iterations if r["run_name"] == "dispatch/select/fds:100/active:1")
    assert e["value"] == pytest.approx(times[1], rel=1e-3) and e["unit"] == "ns/iter" and "range" in e
    assert any(n.startswith("micro/dispatch/select/fds:1000/active:1 (select() cannot watch") for n in left_out)


def test_micro_file_of_aggregates_only_uses_its_median_row():
    doc = {"benchmarks": [
        {"name": "rot13/table/bytes:16_median", "run_name": "rot13/table/bytes:16", "run_type": "aggregate",
         "aggregate_name": "median", "repetitions": 9, "cpu_time": 12.5, "time_unit": "ns"},
        {"name": "rot13/table/bytes:16_stddev", "run_name": "rot13/table/bytes:16", "run_type": "aggregate",
         "aggregate_name": "stddev", "repetitions": 9, "cpu_time": 0.25, "time_unit": "ns"},
        {"name": "rot13/table/bytes:16_mean", "run_name": "rot13/table/bytes:16", "run_type": "aggregate",
         "aggregate_name": "mean", "repetitions": 9, "cpu_time": 13.0, "time_unit": "ns"}]}
    (e,), left_out = export.micro_entries(doc)
    assert e["name"] == "micro/rot13/table/bytes:16" and e["value"] == 12.5 and e["range"] == "± 0.25"
    assert not left_out


def test_export_command_writes_the_file(tmp_path):
    out = tmp_path / "export.json"
    done = run_script("export-benchmark", fixture_path("results-a.json"), "--micro", fixture_path("micro.json"),
                      "-o", str(out))
    assert done.returncode == 0, done.stderr
    entries = json.loads(out.read_text(encoding="utf-8"))
    assert isinstance(entries, list) and len(entries) > 20
    assert "left out (no value): select/closed-c2000-d1-idle0-s16" in done.stderr


# ---- the alert threshold ---------------------------------------------------------------

def test_alert_threshold_command(tmp_path):
    results = write_json(tmp_path / "results.json", make_fixtures.build_paired(spread=0.05))
    github_output = tmp_path / "github_output"
    done = run_script("alert-threshold", results, "--github-output", str(github_output))
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"\d+%\n", done.stdout)
    assert github_output.read_text() == f"alert-threshold={done.stdout.strip()}\n"
    assert "A/A rounds (epoll vs epoll-A2)" in done.stderr
    no_pair = run_script("alert-threshold", fixture_path("results-a.json"))
    assert no_pair.returncode == 2 and "no A/A pair" in no_pair.stderr


def test_too_few_aa_rounds_write_a_suite_of_the_pair_and_pool_with_its_results(tmp_path):
    short = write_json(tmp_path / "short.json", make_fixtures.build_paired(drift=(1.0, 1.1, 0.9)))
    aa = tmp_path / "aa.json"
    done = run_script("alert-threshold", short, "--aa-suite", str(aa))
    assert done.returncode == 2 and "3 paired rounds" in done.stderr and done.stdout == ""
    suite = json.loads(aa.read_text())
    assert suite["name"] == "paired-aa" and suite["repetitions"] == 7  # 3 + 7 = 10 rounds
    assert [load["servers"] for load in suite["loads"]] == [["epoll"], ["epoll-A2"]]
    more = write_json(tmp_path / "more.json", make_fixtures.build_paired(drift=(1.0,) * 7))
    pooled = run_script("alert-threshold", short, more)
    assert pooled.returncode == 0 and "10 A/A rounds (epoll vs epoll-A2; 2 files pooled)" in pooled.stderr
    # Without a pair there is nothing to top up: no suite.
    none = run_script("alert-threshold", fixture_path("results-a.json"), "--aa-suite", str(tmp_path / "none.json"))
    assert none.returncode == 2 and not (tmp_path / "none.json").exists()


# ---- regressions, rerun, confirmation ------------------------------------------------------

def slower(entries, names, factor, commit="fedcba9876543210"):
    out = copy.deepcopy(entries)
    for e in out:
        if e["name"] in names:
            e["value"] *= factor
        e["extra"] = re.sub(r"commit: \S+", f"commit: {commit}", e["extra"])
    return out


@pytest.fixture(scope="module")
def baseline_entries():
    return export.configuration_entries(load_results(fixture_path("results-a.json")))[0]


def test_suspects_are_the_entries_above_the_threshold(baseline_entries):
    names = {"epoll/closed-c100-d1-idle0-s16", "select/closed-c1-d1-idle0-s16"}
    current = regressions._from_entries(slower(baseline_entries, names, 1.5), "current")
    slightly = slower(baseline_entries, {"epoll/closed-c1-d1-idle0-s16"}, 1.2)
    current.values["epoll/closed-c1-d1-idle0-s16"] = next(
        e for e in slightly if e["name"] == "epoll/closed-c1-d1-idle0-s16")
    baseline = regressions._from_entries(baseline_entries, "baseline")
    found = regressions.suspects(current, baseline, regressions.parse_threshold("130%"))
    assert {r.name for r in found} == names
    assert all(r.ratio == pytest.approx(1.5, rel=1e-3) for r in found)
    text = regressions.describe(found[0], baseline.commit)
    assert "at commit 0123456789ab" in text and "1.50× (+50 %)" in text


def test_the_actions_data_js_is_a_baseline(baseline_entries):
    data = {"lastUpdate": 1, "repoUrl": "x", "entries": {"rot13bench": [
        {"commit": {"id": "aaaa1111"}, "date": 1, "tool": "customSmallerIsBetter", "benches": baseline_entries},
        {"commit": {"id": "bbbb2222"}, "date": 2, "tool": "customSmallerIsBetter",
         "benches": slower(baseline_entries, set(), 1.0)}]}}
    parsed = regressions.parse_export("window.BENCHMARK_DATA = " + json.dumps(data), "data.js")
    assert parsed.commit == "bbbb2222" and len(parsed.values) == len(baseline_entries)
    with pytest.raises(regressions.ExportError, match="no benchmark set 'other'"):
        regressions.parse_export(json.dumps(data), "data.json", "other")


def test_threshold_notation():
    assert regressions.parse_threshold("130%") == pytest.approx(1.3)
    assert regressions.parse_threshold("1.25") == pytest.approx(1.25)
    for bad in ("90%", "abc", "100%"):
        with pytest.raises(regressions.ExportError):
            regressions.parse_threshold(bad)


def test_rerun_suite_runs_just_the_suspects():
    results = load_results(fixture_path("results-a.json"))
    suite = regressions.rerun_suite(results, ["libevent-bufferevent+epoll/closed-c100-d1-idle0-s16",
                                              "epoll/open-c10-rate20000-idle0-s16"])
    assert suite["servers"] == results.suite["servers"] and suite["repetitions"] == 3
    closed, opened = suite["loads"]
    assert closed == {"mode": "closed", "connections": 100, "idle": 0, "size": 16, "depth": 1,
                      "servers": ["libevent-bufferevent/epoll"]}
    assert opened == {"mode": "open", "connections": 10, "idle": 0, "size": 16, "rate": 20000,
                      "arrivals": "uniform", "servers": ["epoll"]}
    with pytest.raises(regressions.ExportError, match="no configuration nope/closed"):
        regressions.rerun_suite(results, ["nope/closed-c1-d1-idle0-s16"])


def test_check_then_confirm_fails_only_for_what_the_rerun_confirms(tmp_path, baseline_entries):
    worse = {"epoll/closed-c100-d1-idle0-s16", "select/closed-c1-d1-idle0-s16"}
    baseline = write_json(tmp_path / "baseline.json", baseline_entries)
    current = write_json(tmp_path / "current.json", slower(baseline_entries, worse, 1.6))
    github_output = tmp_path / "out"
    check = run_script("check-regressions", current, baseline, "--threshold", "130%", "--results",
                       fixture_path("results-a.json"), "--rerun-suite", str(tmp_path / "rerun.json"),
                       "--github-output", str(github_output))
    assert check.returncode == 0, check.stderr
    assert "2 of " in check.stdout and "suspect epoll/closed-c100-d1-idle0-s16:" in check.stdout
    suite = json.loads((tmp_path / "rerun.json").read_text())
    assert sorted(load["servers"][0] for load in suite["loads"]) == ["epoll", "select"]
    # The rerun: epoll is still slow, select was noise.
    rerun = write_json(tmp_path / "rerun-export.json",
                       slower(baseline_entries, {"epoll/closed-c100-d1-idle0-s16"}, 1.5))
    confirm = run_script("check-regressions", current, baseline, "--threshold", "130%", "--rerun", rerun,
                         "--github-output", str(github_output))
    assert confirm.returncode == 1, confirm.stderr
    assert re.search(r"REGRESSION \(confirmed\): epoll/closed-c100-d1-idle0-s16: .* at commit 0123456789ab, "
                     r"1\.60× \(\+60 %\); rerun 1\.50×", confirm.stdout)
    assert "not confirmed, noise: select/closed-c1-d1-idle0-s16" in confirm.stdout
    assert github_output.read_text() == "suspects=2\nsuspects=2\nconfirmed=1\n"
    cleared = run_script("check-regressions", current, baseline, "--threshold", "130%", "--rerun", baseline)
    assert cleared.returncode == 0 and "REGRESSION" not in cleared.stdout


def test_no_suspect_writes_no_rerun_suite(tmp_path, baseline_entries):
    baseline = write_json(tmp_path / "baseline.json", baseline_entries)
    done = run_script("check-regressions", baseline, baseline, "--threshold", "130%", "--results",
                      fixture_path("results-a.json"), "--rerun-suite", str(tmp_path / "rerun.json"))
    assert done.returncode == 0 and "0 of " in done.stdout
    assert not (tmp_path / "rerun.json").exists()
