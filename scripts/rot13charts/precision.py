"""What `rot13-bench run --precision P` did (docs/harness.md, harness/precision.hpp).

After the planned repetitions the harness gives every configuration whose 95 % interval of
the median server CPU per line, or of the median lines/s, reaches further than ±P % from the
median one more repetition, as one more interleaved round, until all are within or the
budget is spent. The file records under "precision" the target, the budget, the time spent,
why it stopped, the extra rounds and per configuration its runs, its ok runs, and for each
figure the median, the interval and how far it reaches (half_width_percent).

The interval is the harness's, not the report's: distribution-free, from the order
statistics of the ok runs (it needs 6), where the report's tables give a bootstrap
interval of the same median. The two differ a little; this section prints the harness's,
which decided the rounds.
"""

from . import metrics
from .markdown import table
from .results import configuration_id

STOPPED = {
    "target": "every configuration was within the target",
    "budget": "the budget was spent (a round that starts inside it runs to its end)",
    "interrupted": "the run was interrupted",
}


def _number(obj, key):
    value = obj.get(key) if isinstance(obj, dict) else None
    return None if isinstance(value, bool) or not isinstance(value, (int, float)) else value


def interval_text(interval, fmt):
    """"10.7 µs [10.3 µs – 11.1 µs], ±3.9 %", or the median and why there is no interval."""
    if not isinstance(interval, dict) or _number(interval, "median") is None:
        return "n/a (no ok run)"
    text = fmt(float(interval["median"]))
    low, high, reach = (_number(interval, k) for k in ("low", "high", "half_width_percent"))
    if low is None or high is None or reach is None:
        n = _number(interval, "n")
        runs = f"{n:.0f} ok runs" if n is not None else "too few ok runs"
        return f"{text} (no interval: {runs}, it needs 6)"
    return f"{text} [{fmt(float(low))} – {fmt(float(high))}], ±{reach:.1f} %"


def _cell_names(results):
    """{configuration id: (server label, load description)} of the file's cells."""
    return {configuration_id(c.runs[0].id): (c.series.label, c.load.describe()) for c in results.cells if c.runs}


def precision_lines(results):
    """The report's Precision section (without its heading), or [] for a file without
    "precision" (a suite run without --precision)."""
    record = results.precision
    if not isinstance(record, dict):
        return []
    target, budget, spent = (_number(record, k) for k in ("target_percent", "budget_s", "spent_s"))
    rounds = _number(record, "extra_rounds")
    configurations = [c for c in record.get("configurations") or [] if isinstance(c, dict)]
    within = sum(c.get("within_target") is True for c in configurations)
    stopped = record.get("stopped")
    target_text = f"±{target:g} %" if target is not None else "the target"
    lines = [
        f"The suite ran with `--precision {target:g}` (or its key `precision`): after the planned repetitions, "
        f"every configuration whose "
        f"95 % interval of the median server CPU per line or of the median lines/s reached further than "
        f"{target_text} from the median got one more repetition, in extra interleaved rounds "
        f"(docs/harness.md)." if target is not None else
        "The suite ran with `--precision`: configurations got extra interleaved rounds (docs/harness.md).",
        "",
        f"- **Target**: {target_text} for both figures; **budget**: "
        f"{f'{budget:g} s' if budget is not None else 'n/a'} of extra rounds; **spent**: "
        f"{f'{spent:.1f} s' if spent is not None else 'n/a'}; **extra rounds**: "
        f"{f'{rounds:.0f}' if rounds is not None else 'n/a'}.",
        f"- **Stopped**: {STOPPED.get(stopped, f'{stopped!r} (unknown reason)')}. "
        f"{within} of {len(configurations)} configuration{'s' * (len(configurations) != 1)} within {target_text}.",
        f"- **Interval**: {record.get('method') or 'n/a'}; the harness's, which decided the rounds (the report's "
        f"other tables give a bootstrap interval of the same median).",
        "",
    ]
    names = _cell_names(results)
    rows = []
    for c in configurations:
        server, load = names.get(c.get("cell"), (c.get("cell"), "n/a"))
        runs, ok = _number(c, "repetitions"), _number(c, "ok")
        rows.append((server, load, f"{runs:.0f}" if runs is not None else "n/a",
                     f"{ok:.0f}" if ok is not None else "n/a",
                     interval_text(c.get("cpu_us_per_line"), metrics.format_cpu_us),
                     interval_text(c.get("lines_per_s"), metrics.format_rate),
                     "yes" if c.get("within_target") is True else "**no**"))
    if rows:
        lines += [table(("server", "load", "runs", "ok", "CPU/line [95% interval], reach",
                         "lines/s [95% interval], reach", f"within {target_text}"), rows), ""]
    return lines
