"""Regressions between two exports (export.py), confirmed by a rerun before they fail a job.

github-action-benchmark compares each value with the previous commit's and alerts when
current / previous exceeds its alert-threshold (noise.py derives one from the runner's
A/A pair). On a shared runner a single run still crosses any sensible threshold now and
then, so the workflow does it in two steps:

1. suspects(): the configurations whose ratio to the baseline exceeds the threshold;
   rerun_suite() writes a suite with just those (the harness has no filter option: a
   suite whose loads each name one configuration and one server is the filter), which
   the workflow runs once with rot13-bench and exports again;
2. confirm(): a suspect fails the job only if the rerun exceeds the threshold too. The
   message says by how much, both times, and against which commit.

A baseline is our own export (a JSON list; the commit is in each entry's extra) or the
action's stored history (its data.js or data.json: the last run of one benchmark set).
"""

import json
import re
from dataclasses import dataclass

from .results import configuration_id

COMMIT_LINE = re.compile(r"^commit: (\S+)$", re.M)
TIMING = re.compile(r"-t[\d.]+\+[\d.]+$")
DEFAULT_DURATION_S, DEFAULT_WARMUP_S = 2.0, 0.5  # the harness's defaults (docs/harness.md)


class ExportError(Exception):
    """An export or baseline that cannot be used; the message says why."""


@dataclass(frozen=True)
class Export:
    values: dict      # name -> entry
    commit: object    # str or None


def parse_threshold(text):
    """"130%" -> 1.3 (the action's own notation); a plain number is a ratio."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ExportError(f"threshold {text!r}: expected a percentage like 130% or a ratio like 1.3") from None
    if value <= 1:
        raise ExportError(f"threshold {text!r}: must be above 100% (a ratio above 1)")
    return value


def _from_entries(entries, where):
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "name" in e and "value" in e
                                                for e in entries):
        raise ExportError(f"{where}: expected a list of {{\"name\", \"unit\", \"value\", ...}} entries")
    commits = [m.group(1) for e in entries for m in [COMMIT_LINE.search(str(e.get("extra", "")))] if m]
    return Export({e["name"]: e for e in entries}, commits[0] if commits else None)


def parse_export(text, where, benchmark_set=None):
    """An Export from our JSON list or from the action's data.js / data.json."""
    text = text.strip()
    if text.startswith("window.BENCHMARK_DATA"):
        text = text.split("=", 1)[1].strip().rstrip(";")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ExportError(f"{where}: not valid JSON ({e.msg} at line {e.lineno})") from None
    if isinstance(doc, list):
        return _from_entries(doc, where)
    sets = doc.get("entries") if isinstance(doc, dict) else None
    if not isinstance(sets, dict) or not sets:
        raise ExportError(f"{where}: neither an export list nor github-action-benchmark's data (no \"entries\")")
    if benchmark_set is None and len(sets) != 1:
        raise ExportError(f"{where}: holds the benchmark sets {', '.join(sorted(sets))}: say which with --set")
    name = benchmark_set or next(iter(sets))
    if name not in sets or not sets[name]:
        raise ExportError(f"{where}: no benchmark set {name!r} (it has {', '.join(sorted(sets))})")
    last = sets[name][-1]
    export = _from_entries(last.get("benches"), f"{where}: {name}")
    commit = (last.get("commit") or {}).get("id")
    return Export(export.values, commit or export.commit)


def load_export(path, benchmark_set=None):
    try:
        with open(path, encoding="utf-8") as f:
            return parse_export(f.read(), path, benchmark_set)
    except OSError as e:
        raise ExportError(f"{path}: cannot read it ({e.strerror})") from None


@dataclass(frozen=True)
class Regression:
    name: str
    unit: str
    baseline: float
    current: float

    @property
    def ratio(self):
        return self.current / self.baseline


def suspects(current, baseline, threshold):
    """The entries of `current` whose value exceeds `threshold` times the baseline's."""
    found = []
    for name, entry in current.values.items():
        base = baseline.values.get(name)
        if base is None or not base["value"] or base.get("unit") != entry.get("unit"):
            continue
        r = Regression(name, entry.get("unit", ""), float(base["value"]), float(entry["value"]))
        if r.ratio > threshold:
            found.append(r)
    return sorted(found, key=lambda r: -r.ratio)


def describe(r, baseline_commit):
    against = f"commit {baseline_commit[:12]}" if baseline_commit else "the baseline"
    return (f"{r.name}: {r.current:.4g} {r.unit} against {r.baseline:.4g} at {against}, "
            f"{r.ratio:.2f}× ({100 * (r.ratio - 1):+.0f} %)")


@dataclass(frozen=True)
class Verdict:
    suspect: Regression
    rerun: object     # Regression or None (the rerun has no value for it)
    threshold: float

    @property
    def confirmed(self):
        return self.rerun is None or self.rerun.ratio > self.threshold


def confirm(found, rerun, baseline, threshold):
    """[Verdict] per suspect: confirmed when the rerun also exceeds the threshold, or has
    no value at all (every rerun failed)."""
    verdicts = []
    for r in found:
        entry = rerun.values.get(r.name)
        again = None if entry is None else Regression(r.name, r.unit, r.baseline, float(entry["value"]))
        verdicts.append(Verdict(r, again, threshold))
    return verdicts


def rerun_suite(results, names, repetitions=None, name="rerun", description=None):
    """A suite that runs exactly the configurations `names` (export names) once more: the
    original suite's servers, one load per configuration restricted to its server, the
    suite's repetitions unless told otherwise; named after the suite plus "-" + name."""
    cells = {configuration_id(c.runs[0].id): c for c in results.cells if c.runs}
    unknown = [n for n in names if n not in cells]
    if unknown:
        raise ExportError(f"{results.path}: no configuration {', '.join(unknown)} (another suite?)")
    suite = results.suite
    duration = suite.get("duration_s", DEFAULT_DURATION_S)
    warmup = suite.get("warmup_s", DEFAULT_WARMUP_S)
    loads = [_load_of(cells[name], name) for name in names]
    description = description or (f"Rerun of {len(names)} configuration(s) of {results.name} that exceeded the "
                                  f"alert threshold (scripts/check-regressions)")
    return {"name": f"{results.name}-{name}", "description": description,
            "duration_s": duration, "warmup_s": warmup, "repetitions": repetitions or suite.get("repetitions", 1),
            "servers": suite.get("servers"), "loads": loads}


def _load_of(cell, name):
    load, series = cell.load, cell.series
    out = {"mode": load.mode, "connections": load.connections, "idle": load.idle or 0, "size": load.size or 16}
    if load.mode == "open":
        out.update(rate=load.rate, arrivals=load.arrivals or "uniform")
    else:
        out["depth"] = load.depth or 1
    if TIMING.search(name.split("/")[-1]):
        config = cell.runs[0].data.get("config", {})
        out.update(duration_s=config.get("duration_s"), warmup_s=config.get("warmup_s"))
    out["servers"] = [f"{series.server}/{series.backend}" if series.backend else series.server]
    return out
