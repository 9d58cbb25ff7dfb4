"""scripts/ci.sh confirm on fixtures: the alert threshold from the A/A pair (topped up by a
run of the pair alone when it has too few rounds), the suspects rerun once, and the step
failing only for what the rerun confirms, saying by how much and against which commit.

No server runs here: ROT13_BENCH points at a stand-in for rot13-bench that writes, for a
suite named N, the prepared results file N.json, and keeps the suite it was given."""

import json
import os
import re
import subprocess

from conftest import SCRIPTS, make_fixtures, write_json
from rot13charts import export
from rot13charts.results import parse_results

SLOW = 1.5  # this run's CPU per line against the baseline's, for the suspects
BASELINE_COMMIT = "fedcba9876543210fedcba9876543210fedcba98"
SET_NAME = "rot13bench ci (Linux)"

FAKE_BENCH = """#!/usr/bin/env python3
# A stand-in for rot13-bench run SUITE --out DIR: refuses an existing results.json like the
# real one, then writes $FAKE_RESULTS/<suite name>.json as DIR/results.json.
import json, os, shutil, sys
assert sys.argv[1] == "run" and sys.argv[3] == "--out", sys.argv
suite, out = sys.argv[2], sys.argv[4]
if os.path.exists(os.path.join(out, "results.json")):
    sys.exit("rot13-bench: " + out + " already has a results.json (use --resume)")
with open(suite) as f:
    name = json.load(f)["name"]
os.makedirs(out, exist_ok=True)
shutil.copy(suite, os.path.join(out, "suite-given.json"))
shutil.copy(os.path.join(os.environ["FAKE_RESULTS"], name + ".json"), os.path.join(out, "results.json"))
"""


def scaled(doc, servers, factor):
    """The document with the CPU per line of `servers` multiplied by factor."""
    for run in doc["runs"]:
        if run["config"]["server"] in servers and run["server"] and run["server"]["cpu_us_per_line"]:
            run["server"]["cpu_us_per_line"] *= factor
    return doc


def entries_of(doc, commit=None):
    entries, _ = export.configuration_entries(parse_results(doc, "x.json"))
    if commit:
        for e in entries:
            e["extra"] = re.sub(r"commit: \S+", f"commit: {commit}", e["extra"])
    return entries


def data_js(entries, commit=BASELINE_COMMIT):
    """github-action-benchmark's gh-pages data file holding `entries` as its last run."""
    data = {"lastUpdate": 1, "repoUrl": "https://github.com/x/rot13bench", "entries": {SET_NAME: [
        {"commit": {"id": commit}, "date": 1, "tool": "customSmallerIsBetter", "benches": entries}]}}
    return "window.BENCHMARK_DATA = " + json.dumps(data)


class CiRun:
    """A results directory as the suite and export steps leave it, and ci.sh confirm on it."""

    def __init__(self, tmp_path, current_doc):
        self.tmp = tmp_path
        self.out = tmp_path / "ci-linux"
        self.out.mkdir()
        self.fake_results = tmp_path / "fake-results"
        self.fake_results.mkdir()
        write_json(self.out / "results.json", current_doc)
        write_json(self.out / "benchmark.json", entries_of(current_doc))
        self.bench = tmp_path / "rot13-bench"
        self.bench.write_text(FAKE_BENCH, encoding="utf-8")
        self.bench.chmod(0o755)
        self.summary = tmp_path / "summary.md"
        self.github_output = tmp_path / "github_output"

    def rerun_gives(self, suite_name, doc):
        write_json(self.fake_results / f"{suite_name}.json", doc)

    def confirm(self, baseline):
        env = dict(os.environ, ROT13_CI_OUT=str(self.out), ROT13_CI_BASELINE=str(baseline),
                   ROT13_BENCH=str(self.bench), FAKE_RESULTS=str(self.fake_results),
                   GITHUB_STEP_SUMMARY=str(self.summary), GITHUB_OUTPUT=str(self.github_output))
        return subprocess.run([os.path.join(SCRIPTS, "ci.sh"), "confirm"], capture_output=True, text=True,
                              env=env, timeout=300)

    def suite_given(self, suffix):
        return json.loads((self.tmp / f"ci-linux-{suffix}" / "suite-given.json").read_text(encoding="utf-8"))

    def outputs(self):
        return dict(line.split("=", 1) for line in self.github_output.read_text().splitlines())


def slow_run():
    """This run: epoll (and its A/A twin, so that the noise stays small) and poll SLOW times
    the baseline's CPU per line; 5 A/A rounds."""
    return scaled(make_fixtures.build_paired(cpu_ratio=1.0), {"epoll", "epoll-A2", "poll"}, SLOW)


def baseline_file(tmp_path):
    path = tmp_path / "data.js"
    path.write_text(data_js(entries_of(make_fixtures.build_paired(cpu_ratio=1.0), BASELINE_COMMIT)))
    return path


def test_a_regression_the_rerun_repeats_fails_and_says_by_how_much_against_which_commit(tmp_path):
    ci = CiRun(tmp_path, slow_run())
    # The rerun: epoll still slow, poll back to the baseline (its first run was noise).
    ci.rerun_gives("paired-rerun", scaled(make_fixtures.build_paired(cpu_ratio=1.0), {"epoll", "epoll-A2"}, SLOW))
    done = ci.confirm(baseline_file(tmp_path))
    assert done.returncode == 1, done.stdout + done.stderr
    report = (ci.out / "regressions.txt").read_text(encoding="utf-8")
    assert re.search(r"REGRESSION \(confirmed\): epoll/closed-c100-d1-idle0-s16: [\d.]+ µs/line against [\d.]+ at "
                     r"commit fedcba987654, 1\.5\d× \(\+5\d %\); rerun 1\.5\d×", report), report
    assert "not confirmed, noise: poll/closed-c100-d1-idle0-s16" in report
    assert "REGRESSION (confirmed): poll" not in report
    # Only the suspects were rerun, each alone, at the suite's repetitions.
    suite = ci.suite_given("rerun")
    assert sorted(load["servers"][0] for load in suite["loads"]) == ["epoll", "epoll-A2", "poll"]
    assert suite["repetitions"] == 5
    assert ci.outputs()["confirmed"] == "2" and ci.outputs()["alert-threshold"].endswith("%")
    assert "### Regressions" in ci.summary.read_text(encoding="utf-8")


def test_a_suspect_the_rerun_clears_does_not_fail(tmp_path):
    ci = CiRun(tmp_path, slow_run())
    ci.rerun_gives("paired-rerun", make_fixtures.build_paired(cpu_ratio=1.0))
    done = ci.confirm(baseline_file(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    report = (ci.out / "regressions.txt").read_text(encoding="utf-8")
    assert report.count("not confirmed, noise") == 3  # epoll, epoll-A2 and poll
    assert ci.outputs()["confirmed"] == "0"


def test_the_threshold_comes_from_the_aa_pair_not_the_actions_default(tmp_path):
    """A 50 % slowdown is under the action's default 200 % but over this pair's noise."""
    ci = CiRun(tmp_path, slow_run())
    ci.rerun_gives("paired-rerun", make_fixtures.build_paired(cpu_ratio=1.0))
    done = ci.confirm(baseline_file(tmp_path))
    threshold = int(ci.outputs()["alert-threshold"].rstrip("%"))
    assert 110 <= threshold < 150
    assert "A/A rounds (epoll vs epoll-A2)" in done.stderr


def test_too_few_aa_rounds_are_topped_up_by_a_run_of_the_pair_alone(tmp_path):
    # The ci suite's shape: 2 rounds of the pair, too few for a 95th percentile.
    current = scaled(make_fixtures.build_paired(cpu_ratio=1.0, drift=(1.0, 1.1)), {"epoll", "epoll-A2"}, SLOW)
    ci = CiRun(tmp_path, current)
    ci.rerun_gives("paired-aa", make_fixtures.build_paired(cpu_ratio=1.0, drift=(1.0,) * 8))
    ci.rerun_gives("paired-rerun", current)
    done = ci.confirm(baseline_file(tmp_path))
    assert done.returncode == 1, done.stdout + done.stderr
    aa = ci.suite_given("aa")
    assert [load["servers"] for load in aa["loads"]] == [["epoll"], ["epoll-A2"]]
    assert aa["repetitions"] == 8  # 2 rounds + 8 = the 10 wanted
    assert "10 A/A rounds (epoll vs epoll-A2; 2 files pooled)" in done.stderr


def test_nothing_above_the_threshold_reruns_nothing(tmp_path):
    ci = CiRun(tmp_path, make_fixtures.build_paired(cpu_ratio=1.0))
    done = ci.confirm(baseline_file(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 of 3 entries exceed" in done.stdout and "(commit fedcba987654)" in done.stdout
    assert not (tmp_path / "ci-linux-rerun").exists()
    assert ci.outputs()["suspects"] == "0"


def test_without_a_baseline_there_is_nothing_to_confirm(tmp_path):
    ci = CiRun(tmp_path, slow_run())
    done = ci.confirm(tmp_path / "no-such-baseline.js")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no baseline" in done.stderr and not ci.github_output.exists()


def test_an_earlier_rerun_is_never_overwritten(tmp_path):
    ci = CiRun(tmp_path, slow_run())
    (tmp_path / "ci-linux-rerun").mkdir()
    write_json(tmp_path / "ci-linux-rerun" / "results.json", make_fixtures.build_paired())
    ci.rerun_gives("paired-rerun", make_fixtures.build_paired(cpu_ratio=1.0))
    done = ci.confirm(baseline_file(tmp_path))
    assert done.returncode != 0 and "already has a results.json" in done.stderr
