"""What the whole machine did while each run's load ran (the run's "machine": docs/harness.md).

rot13-bench reads /proc/stat on Linux at rot13-load's start and exit: hypervisor steal,
interrupt (irq) and softirq time, summed over all CPUs, and the interrupts and context
switches in between. Each is divided here by the load's seconds, so a run's steal share is
the CPU time the hypervisor gave other guests per second of load (summed over the CPUs:
with two CPUs, 200 % would be both stolen all the time). The report gives the median and
the largest over the runs, and names the runs whose steal exceeded STEAL_WARNING of their
load time: they measured a busy host, not the server.

Other OSes record nulls, and files from before the counters have no "machine": a counter
no run has is left out, and a file without any says nothing.
"""

import numpy as np

from .markdown import table

STEAL_WARNING = 0.05  # of the load's seconds
# (counter, what the row says, "share" of the load time or a "rate" per second)
COUNTERS = (("steal_s", "steal (hypervisor)", "share"), ("irq_s", "irq", "share"),
            ("softirq_s", "softirq (on loopback, much of the network stack)", "share"),
            ("interrupts", "interrupts", "rate"), ("context_switches", "context switches", "rate"))


def per_second(run, counter):
    """The run's counter per second of load, or None (not recorded, null, no seconds)."""
    seconds = run.number("machine", "seconds")
    value = run.number("machine", counter)
    if value is None or not seconds:
        return None
    return value / seconds


def _format(kind, value):
    return f"{100 * value:.1f} %" if kind == "share" else f"{value:,.0f}/s"


def steal_warnings(results):
    """[(run, steal share)] of the runs whose steal exceeded STEAL_WARNING of their load."""
    found = [(r, per_second(r, "steal_s")) for r in results.runs]
    return [(r, share) for r, share in found if share is not None and share > STEAL_WARNING]


def machine_lines(results):
    """The noise section's paragraph on the machine counters, or [] when no run has them."""
    recorded = [r for r in results.runs if r.section("machine")]
    if not recorded:
        return []
    rows = []
    for counter, words, kind in COUNTERS:
        values = [(per_second(r, counter), r) for r in recorded]
        values = [(v, r) for v, r in values if v is not None]
        if not values:
            continue
        top, top_run = max(values, key=lambda vr: vr[0])
        rows.append((words, _format(kind, float(np.median([v for v, _r in values]))),
                     f"{_format(kind, top)} (`{top_run.id}`)" if top > 0 else _format(kind, top),
                     f"{len(values)} of {len(recorded)}"))
    cpus = results.context.get("cores")
    lines = ["### The machine during the loads", ""]
    if not rows:
        return lines + [f"The {len(recorded)} runs' machine counters are all null: this OS does not report "
                        "them (rot13-bench reads them from Linux's /proc/stat).", ""]
    lines += [f"What the whole machine did while each run's load ran (/proc/stat, summed over all "
              f"{f'{cpus} ' if cpus else ''}CPUs), per second of load: the time shares are CPU-seconds per "
              f"second (100 % is one CPU), counted in 10 ms ticks, so a short run's share is coarse.", "",
              table(("counter", "median over the runs", "largest (run)", "runs with it"), rows), ""]
    warned = steal_warnings(results)
    if warned:
        names = ", ".join(f"`{r.id}` ({100 * share:.0f} %)" for r, share in warned)
        lines += [f"- **Warning: steal above {100 * STEAL_WARNING:.0f} % of the load time in {len(warned)} "
                  f"run{'s' * (len(warned) != 1)}**: {names}. The hypervisor gave that CPU time to other "
                  f"guests: those runs measured a busy host, not only the server.", ""]
    elif any(per_second(r, "steal_s") is not None for r in recorded):
        lines += [f"No run had steal above {100 * STEAL_WARNING:.0f} % of its load time.", ""]
    return lines
