"""Reading rot13-bench results files: runs, cells and families.

A results file (docs/results-schema.md) holds the suite, the context once, and one object
per run. This module is strict about what every run must have (its id, its configuration,
its status) and tolerant about everything else: a figure the file does not have is None,
and the report prints "n/a" for it.

  Run      one run: one server, one load, one repetition
  Cell     one configuration (server and load) with all its repetitions
  Family   the cells that differ in one load parameter only (the x axis of a chart)
"""

import dataclasses
import json
import os
import re
from dataclasses import dataclass, field

SCHEMA_VERSION = 1
STATUSES = ("ok", "failed", "skipped")
MODES = ("closed", "open", "knee")

# Legend and table order: the chapter's order of designs, then libevent's backends in the
# order the chapter introduces the mechanisms. Anything else follows alphabetically.
VARIANT_ORDER = ["fork", "threads", "threadpool", "select", "poll", "epoll", "kqueue",
                 "libevent-event", "libevent-bufferevent", "asio", "io_uring"]
BACKEND_ORDER = ["select", "poll", "epoll", "kqueue", "devpoll", "evport", "win32"]

# The load parameters that tell two configurations apart (scripts/compare matches on these
# and the server). "arrivals" only differs between open-loop and knee runs, "p99_ms" (the
# latency target) between knee runs, "generators" (how many load generators were merged
# into the run: config.generators, None for one) between runs of one and of several.
LOAD_KEYS = ("mode", "connections", "idle", "depth", "rate", "size", "arrivals", "p99_ms", "generators")

# The parameters a family can sweep, per mode, in the order the report shows them. A knee
# search (mode "knee") chooses its own rates: it is no family's point (knee.py draws it).
SWEEPS = {"closed": ("connections", "idle", "size", "depth"), "open": ("rate",)}

DEFAULT_SIZE = 16


_REPETITION = re.compile(r"/rep\d+$")
# The knee target in a run id ("epoll/knee-c10-p99ms20-idle0-s16/rep1"), for the runs that
# have no "knee" object (skipped ones).
_KNEE_TARGET = re.compile(r"-p99ms(\d+(?:\.\d+)?(?:e[-+]?\d+)?)-")


def configuration_id(run_id):
    """A run id without its repetition, e.g. "epoll/closed-c100-d1-idle0-s16": the
    harness makes it from the configuration, so it is stable across runs of a suite."""
    return _REPETITION.sub("", run_id)


class ResultsError(Exception):
    """A results file that cannot be used; the message names the file and the problem."""


def _order(value, known):
    return (known.index(value), "") if value in known else (len(known), value or "")


@dataclass(frozen=True)
class Series:
    """One line on a chart: a server and, for libevent, its backend."""

    server: str
    backend: object = None  # str or None
    variant: object = None  # str or None (None for a custom command)
    # How the build provides the variant when not natively (config.note), e.g. "libkqueue on
    # Linux": shown wherever the series is named. Not part of its identity.
    note: object = field(default=None, compare=False)

    @property
    def name(self):
        """The server as readers see it: "kqueue (libkqueue on Linux)", or just "epoll"."""
        return f"{self.server} ({self.note})" if self.note else self.server

    @property
    def label_without_note(self):
        """"libevent-event/epoll", "kqueue": how suites and the report's pairs name it."""
        return f"{self.server}/{self.backend}" if self.backend else self.server

    @property
    def label(self):
        """"libevent-event/epoll", "kqueue (libkqueue on Linux)"."""
        base = self.label_without_note
        return f"{base} ({self.note})" if self.note else base

    def sort_key(self):
        return (_order(self.variant or self.server, VARIANT_ORDER), _order(self.backend, BACKEND_ORDER),
                self.label)


def format_count(value):
    """12345.6 -> "12,346"."""
    return f"{value:,.0f}"


def format_size(size):
    """Line length in bytes: 16 -> "16 B", 1024 -> "1 KiB"."""
    if size is None:
        return "n/a"
    if size >= 1024 and size % 1024 == 0:
        return f"{size // 1024} KiB"
    return f"{size} B"


@dataclass(frozen=True)
class LoadPoint:
    """The load of a run, without its repetition."""

    mode: str
    connections: object = None
    idle: object = 0
    depth: object = None
    rate: object = None
    size: object = None
    arrivals: object = None
    p99_ms: object = None  # a knee search's latency target
    # Several load generators merged into the run (config.generators); None: one. Their
    # connections, idle and rate are the sums, what the server saw.
    generators: object = None

    def get(self, name):
        return getattr(self, name)

    def without(self, name):
        return dataclasses.replace(self, **{name: None})

    def sort_key(self):
        def number(v):
            return (v is not None, v if v is not None else 0)
        return (MODES.index(self.mode) if self.mode in MODES else len(MODES), number(self.connections),
                number(self.idle), number(self.depth), number(self.rate), number(self.size), self.arrivals or "",
                number(self.p99_ms), number(self.generators))

    def describe(self, omit=()):
        """"closed loop, 100 connections, 1,000 idle, 1 KiB lines"; defaults are left out."""
        parts = []
        if self.mode in ("open", "knee"):
            if self.mode == "knee":
                text = "knee search" + (f" for p99 ≤ {self.p99_ms:g} ms" if self.p99_ms is not None else "")
            else:
                text = "open loop"
                if self.rate is not None and "rate" not in omit:
                    text += f" at {format_count(self.rate)} lines/s"
            if self.connections is not None and "connections" not in omit:
                text += f" over {format_count(self.connections)} connection{'s' * (self.connections != 1)}"
            parts.append(text)
            if self.arrivals and self.arrivals != "uniform":
                parts.append(f"{self.arrivals} arrivals")
        else:
            parts.append("closed loop")
            if self.connections is not None and "connections" not in omit:
                parts.append(f"{format_count(self.connections)} connection{'s' * (self.connections != 1)}")
            if self.depth not in (None, 1) and "depth" not in omit:
                parts.append(f"{self.depth} lines in flight per connection")
        if self.idle and "idle" not in omit:
            parts.append(f"{format_count(self.idle)} idle")
        if self.size not in (None, DEFAULT_SIZE) and "size" not in omit:
            parts.append(f"{format_size(self.size)} lines")
        if self.generators is not None and "generators" not in omit:
            parts.append(f"from {self.generators} generator{'s' * (self.generators != 1)}")
        return ", ".join(parts)

    def slug(self, omit=()):
        """A short file-name part: "closed-c100-d1-s16"."""
        letters = {"connections": "c", "idle": "idle", "depth": "d", "rate": "r", "size": "s", "p99_ms": "p99ms",
                   "generators": "g"}
        parts = [self.mode]
        for name, letter in letters.items():
            value = self.get(name)
            if value is None or name in omit or (name == "idle" and value == 0):
                continue
            parts.append(f"{letter}{value:g}" if isinstance(value, float) else f"{letter}{value}")
        if self.arrivals and self.arrivals != "uniform":
            parts.append(self.arrivals)
        return "-".join(parts)


@dataclass
class Run:
    """One run as the harness recorded it; `data` is its JSON object."""

    id: str
    series: Series
    load: LoadPoint
    repetition: int
    status: str
    reason: object
    data: dict

    def number(self, *path):
        """The number at data[path[0]][path[1]]..., or None when any part is missing."""
        at = self.data
        for key in path:
            if not isinstance(at, dict) or key not in at:
                return None
            at = at[key]
        if isinstance(at, bool) or not isinstance(at, (int, float)):
            return None
        return float(at)

    def section(self, name):
        value = self.data.get(name)
        return value if isinstance(value, dict) else {}

    @property
    def knee(self):
        """The knee search's record (target, rate, upper, probes), or None (not a knee run,
        or one that never searched: skipped)."""
        value = self.data.get("knee")
        return value if isinstance(value, dict) else None

    @property
    def errors(self):
        """Non-zero error counts by class, e.g. {"connect": 976, "reset": 3}."""
        raw = self.section("summary").get("errors")
        if not isinstance(raw, dict):
            return {}
        return {k: int(v) for k, v in raw.items()
                if k != "total" and isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0}

    @property
    def error_total(self):
        return sum(self.errors.values())

    @property
    def validation_failures(self):
        return int(self.number("summary", "validation_failures") or 0)

    @property
    def exit(self):
        value = self.section("server").get("exit")
        return value if isinstance(value, str) else None

    @property
    def requests(self):
        return self.number("summary", "requests")

    @property
    def latency_samples(self):
        """How many latencies the corrected histogram holds (the requests when not recorded)."""
        for path in (("summary", "latency_ns", "corrected", "count"), ("histograms", "corrected", "count")):
            value = self.number(*path)
            if value is not None:
                return value
        return self.requests


@dataclass
class Cell:
    """One configuration: a series at a load point, with every repetition."""

    series: Series
    load: LoadPoint
    runs: list = field(default_factory=list)
    figures: dict = field(default_factory=dict, repr=False, compare=False)  # metrics.cell_figure's cache

    @property
    def ok_runs(self):
        return [r for r in self.runs if r.status == "ok"]

    @property
    def failed_runs(self):
        return [r for r in self.runs if r.status == "failed"]

    @property
    def skipped_runs(self):
        return [r for r in self.runs if r.status == "skipped"]

    @property
    def runs_with_errors(self):
        return [r for r in self.ok_runs if r.error_total or r.validation_failures]

    def key(self):
        return (self.series.server, self.series.backend, self.load)


@dataclass
class Family:
    """Cells that differ only in `sweep` (a LoadPoint field): one chart's x axis."""

    sweep: str
    fixed: LoadPoint
    cells: list

    @property
    def mode(self):
        return self.fixed.mode

    @property
    def xs(self):
        return sorted({c.load.get(self.sweep) for c in self.cells})

    @property
    def series(self):
        return sorted({c.series for c in self.cells}, key=Series.sort_key)

    def cell(self, series, x):
        for c in self.cells:
            if c.series == series and c.load.get(self.sweep) == x:
                return c
        return None

    def describe(self):
        return self.fixed.describe(omit=(self.sweep,))

    def slug(self):
        """File-name part: "vs-connections-closed-d1-s16"."""
        return f"vs-{self.sweep}-{self.fixed.slug(omit=(self.sweep,))}"


@dataclass
class Results:
    path: str
    suite: dict
    context: dict
    runs: list
    cells: list  # in series order, then load order
    precision: object = None  # the "precision" record of --precision (a dict), or None

    @property
    def name(self):
        return str(self.suite.get("name") or os.path.basename(os.path.dirname(os.path.abspath(self.path))))

    @property
    def series(self):
        return sorted({r.series for r in self.runs}, key=Series.sort_key)

    def cell_map(self):
        return {c.key(): c for c in self.cells}


def load_results(path):
    """Reads and checks a results file (or a directory holding results.json)."""
    if os.path.isdir(path):
        path = os.path.join(path, "results.json")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ResultsError(f"{path}: cannot read it ({e})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ResultsError(f"{path}:{e.lineno}:{e.colno}: not valid JSON ({e.msg})") from None
    return parse_results(doc, path)


def _need(obj, key, where, kinds, kind_name):
    if not isinstance(obj, dict) or key not in obj:
        raise ResultsError(f"{where}: missing \"{key}\"")
    value = obj[key]
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        raise ResultsError(f"{where}.{key}: expected {kind_name}, got {json.dumps(value)[:60]}")
    return value


def _optional(obj, key, where, kinds, kind_name, default=None):
    value = obj.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise ResultsError(f"{where}.{key}: expected {kind_name}, got {json.dumps(value)[:60]}")
    return value


def _parse_run(raw, where):
    if not isinstance(raw, dict):
        raise ResultsError(f"{where}: expected an object")
    run_id = _need(raw, "id", where, (str,), "a string")
    config = _need(raw, "config", where, (dict,), "an object")
    cw = f"{where}.config"
    status = _need(raw, "status", where, (str,), "a string")
    if status not in STATUSES:
        raise ResultsError(f"{where}.status: expected one of {', '.join(STATUSES)}, got \"{status}\"")
    mode = _need(config, "mode", cw, (str,), "a string")
    if mode not in MODES:
        raise ResultsError(f"{cw}.mode: expected \"closed\", \"open\" or \"knee\", got \"{mode}\"")
    series = Series(server=_need(config, "server", cw, (str,), "a string"),
                    backend=_optional(config, "backend", cw, (str,), "a string"),
                    variant=_optional(config, "variant", cw, (str,), "a string"),
                    note=_optional(config, "note", cw, (str,), "a string"))
    load = LoadPoint(mode=mode,
                     connections=_need(config, "connections", cw, (int,), "an integer"),
                     idle=_optional(config, "idle", cw, (int,), "an integer", 0),
                     depth=_optional(config, "depth", cw, (int,), "an integer"),
                     rate=_optional(config, "rate", cw, (int, float), "a number"),
                     size=_optional(config, "size", cw, (int,), "an integer"),
                     arrivals=_optional(config, "arrivals", cw, (str,), "a string"),
                     generators=_optional(config, "generators", cw, (int,), "an integer"))
    if mode == "closed":
        load = dataclasses.replace(load, rate=None, arrivals=None)
    elif mode == "knee":
        load = dataclasses.replace(load, rate=None, depth=None, p99_ms=_knee_target(raw, run_id))
    elif load.rate is None:
        raise ResultsError(f"{cw}: an open-loop run needs \"rate\"")
    repetition = _need(config, "repetition", cw, (int,), "an integer")
    reason = raw.get("reason")
    return Run(id=run_id, series=series, load=load, repetition=repetition, status=status,
               reason=reason if isinstance(reason, str) and reason else None, data=raw)


def _knee_target(raw, run_id):
    """A knee run's p99 target in ms: from its "knee" object, else from its id."""
    knee = raw.get("knee")
    target = knee.get("p99_ms") if isinstance(knee, dict) else None
    if isinstance(target, (int, float)) and not isinstance(target, bool):
        return float(target)
    found = _KNEE_TARGET.search(run_id)
    return float(found.group(1)) if found else None


def parse_results(doc, path="results.json"):
    """Checks the fixed parts of a results document and groups its runs into cells."""
    name = os.path.basename(path)
    if not isinstance(doc, dict):
        raise ResultsError(f"{path}: expected a JSON object at the top, not a results file")
    if "schema_version" not in doc:
        raise ResultsError(f"{path}: no \"schema_version\": not a rot13-bench results file "
                           f"(a single rot13-load result? run it through rot13-bench)")
    if doc["schema_version"] != SCHEMA_VERSION:
        raise ResultsError(f"{path}: schema_version {json.dumps(doc['schema_version'])} is not supported "
                           f"(this script reads version {SCHEMA_VERSION})")
    suite = _need(doc, "suite", name, (dict,), "an object")
    context = _need(doc, "context", name, (dict,), "an object")
    raw_runs = _need(doc, "runs", name, (list,), "an array")
    runs = [_parse_run(raw, f"{name}: runs[{i}]") for i, raw in enumerate(raw_runs)]
    seen = {}
    for i, run in enumerate(runs):
        if run.id in seen:
            raise ResultsError(f"{name}: runs[{i}].id \"{run.id}\" repeats runs[{seen[run.id]}]")
        seen[run.id] = i

    by_key = {}
    for run in runs:
        key = (run.series.server, run.series.backend, run.load)
        cell = by_key.get(key)
        if cell is None:
            cell = by_key[key] = Cell(series=run.series, load=run.load)
        cell.runs.append(run)
    cells = sorted(by_key.values(), key=lambda c: (c.series.sort_key(), c.load.sort_key()))
    for cell in cells:
        cell.runs.sort(key=lambda r: r.repetition)
    precision = doc.get("precision")
    return Results(path=path, suite=suite, context=context, runs=runs, cells=cells,
                   precision=precision if isinstance(precision, dict) else None)


def families(cells):
    """Groups cells into families, one per swept parameter and fixed rest of the load.

    A family needs at least two values of its parameter. Cells that belong to no such
    family still get one (with a single x value) so that every measured cell is drawn:
    closed-loop cells in a "connections" family, open-loop cells in a "rate" family.
    Knee searches are left out: their figures are at rates each server's search chose.
    """
    cells = [c for c in cells if c.load.mode in SWEEPS]
    found = []
    covered = set()
    for mode, sweeps in SWEEPS.items():
        mode_cells = [c for c in cells if c.load.mode == mode]
        for sweep in sweeps:
            groups = {}
            for c in mode_cells:
                groups.setdefault(c.load.without(sweep), []).append(c)
            for fixed, members in groups.items():
                if len({c.load.get(sweep) for c in members}) >= 2:
                    found.append(Family(sweep=sweep, fixed=fixed, cells=members))
                    covered.update(id(c) for c in members)
    leftovers = {}
    for c in cells:
        if id(c) in covered:
            continue
        sweep = SWEEPS[c.load.mode][0]
        leftovers.setdefault((sweep, c.load.without(sweep)), []).append(c)
    for (sweep, fixed), members in leftovers.items():
        found.append(Family(sweep=sweep, fixed=fixed, cells=members))

    def order(f):
        return (MODES.index(f.mode), SWEEPS[f.mode].index(f.sweep), f.fixed.sort_key())
    return sorted(found, key=order)
