"""Throughput against a load parameter: connections (log x), line size or depth.

One line per server (and libevent backend), the median over repetitions of the lines
answered per second in the measured window, a band for its 95% bootstrap interval, and a
cross at the foot of the chart where every run failed (a capped select() beyond
FD_SETSIZE, a crashed server).
"""

from . import metrics, plotting

# How titles ("Throughput vs connections") and captions ("against the number of
# connections") name each swept parameter.
SWEEP_TITLES = {"connections": "connections", "size": "line size", "depth": "depth", "idle": "idle connections",
                "rate": "offered load"}
SWEEP_WORDS = {"connections": "number of connections", "size": "line size",
               "depth": "number of lines in flight per connection", "idle": "number of idle connections",
               "rate": "offered load"}


def throughput_chart(family, styles, out_dir, context):
    words = SWEEP_WORDS[family.sweep]
    title = f"Throughput vs {SWEEP_TITLES[family.sweep]}: {family.describe()}"
    caption = (f"Lines answered per second ({plotting.repetitions_text(family)}) against the {words}, "
               f"{family.describe()}; bands are 95% bootstrap intervals, crosses mark configurations "
               f"whose runs all failed.{plotting.reference_words(family, metrics.THROUGHPUT)}")
    return plotting.metric_chart(family, metrics.THROUGHPUT, styles, out_dir, context,
                                 stem=f"throughput-{family.slug()}", title=title, caption=caption,
                                 section="throughput")
