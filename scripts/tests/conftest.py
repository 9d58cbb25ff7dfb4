"""Shared by the tests of scripts/report and scripts/compare (run: /usr/bin/python3 -m pytest -q scripts/tests).

The fixture results files live in fixtures/ and are written by fixtures/make_fixtures.py,
which also builds variations of them in memory for single tests.
"""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.dirname(HERE)
FIXTURES = os.path.join(HERE, "fixtures")
sys.path.insert(0, SCRIPTS)
sys.path.insert(0, FIXTURES)

import make_fixtures  # noqa: E402,F401  (the tests import it from here)


def fixture_path(name):
    return os.path.join(FIXTURES, name)


def run_script(name, *args, env=None):
    """Runs scripts/<name> through its launcher, as a user would; returns CompletedProcess."""
    return subprocess.run([os.path.join(SCRIPTS, name), *args], capture_output=True, text=True, timeout=300,
                          env=env)


def write_json(path, doc):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f)
    return str(path)


@pytest.fixture(scope="session")
def report_a(tmp_path_factory):
    """scripts/report on results-a.json, once for the session: (output dir, report text, process)."""
    out = tmp_path_factory.mktemp("report-a")
    done = run_script("report", fixture_path("results-a.json"), "--out", str(out))
    assert done.returncode == 0, done.stderr
    with open(out / "report.md", encoding="utf-8") as f:
        return out, f.read(), done


@pytest.fixture(scope="session")
def compare_ab(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare-ab")
    done = run_script("compare", fixture_path("results-a.json"), fixture_path("results-b.json"), "--out", str(out))
    assert done.returncode == 0, done.stderr
    with open(out / "compare.md", encoding="utf-8") as f:
        return out, f.read(), done
