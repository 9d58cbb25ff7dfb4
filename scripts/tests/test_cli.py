"""The command lines' errors: a clear message and exit status 2, never a traceback."""

import pytest

from conftest import fixture_path, run_script


@pytest.mark.parametrize("script", ["report", "compare"])
def test_help_exits_zero(script):
    done = run_script(script, "--help")
    assert done.returncode == 0
    assert "usage:" in done.stdout


@pytest.mark.parametrize("args, message", [
    (["/no/such/results.json"], "/no/such/results.json: no such file"),
    ([fixture_path("not-json.json")], "not-json.json:2:"),
    ([fixture_path("wrong-schema.json")], "schema_version 99 is not supported"),
    ([fixture_path("missing-mode.json")], 'runs[1].config: missing "mode"'),
    ([], "the following arguments are required"),
    ([fixture_path("results-a.json"), "--bogus"], "unrecognized arguments: --bogus"),
])
def test_report_errors_exit_2_with_a_clear_message(args, message):
    done = run_script("report", *args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_json_message_says_what_is_wrong():
    done = run_script("report", fixture_path("not-json.json"))
    assert "not valid JSON" in done.stderr


@pytest.mark.parametrize("args, message", [
    ([fixture_path("results-a.json"), "/no/such/b.json"], "/no/such/b.json: no such file"),
    ([fixture_path("not-json.json"), fixture_path("results-a.json")], "not valid JSON"),
    ([fixture_path("results-a.json")], "the following arguments are required"),
])
def test_compare_errors_exit_2_with_a_clear_message(args, message):
    done = run_script("compare", *args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_micro_file_is_a_usage_error(tmp_path):
    done = run_script("report", fixture_path("results-a.json"), "--out", str(tmp_path), "--micro", "/no/micro.json")
    assert done.returncode == 2
    assert "--micro /no/micro.json: no such file" in done.stderr


def test_a_python_without_matplotlib_says_so_and_exits_3():
    """Run directly by an interpreter that lacks numpy or matplotlib (the launcher would pick another)."""
    import shutil
    import subprocess
    candidates = [shutil.which("python3"), shutil.which("python")]
    lacking = None
    for python in filter(None, candidates):
        probe = subprocess.run([python, "-c", "import numpy, matplotlib"], capture_output=True)
        if probe.returncode != 0:
            lacking = python
            break
    if lacking is None:
        pytest.skip("every python3 on PATH has numpy and matplotlib")
    from conftest import SCRIPTS
    import os
    done = subprocess.run([lacking, os.path.join(SCRIPTS, "report"), fixture_path("results-a.json")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 3
    assert "charts need numpy and matplotlib" in done.stderr
