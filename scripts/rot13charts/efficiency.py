"""What a line and a connection cost the server: CPU time per line and RSS per connection.

CPU per line is the server's user + system time during the measured window divided by
the lines answered in it (the harness's server.cpu_us_per_line; children included, so the
forking server's work counts). RSS per connection is the growth of the server's resident
memory under load over its idle size, divided by the connections (active + idle); it is
drawn only from metrics.RSS_MIN_CONNECTIONS connections up, where it is more than page
noise.
"""

from . import metrics, plotting
from .throughput import SWEEP_TITLES, SWEEP_WORDS


def cpu_chart(family, styles, out_dir, context):
    words = SWEEP_WORDS[family.sweep]
    title = f"Server CPU per line vs {SWEEP_TITLES[family.sweep]}: {family.describe()}"
    caption = (f"Server CPU time (user + system, µs) per line answered ({plotting.repetitions_text(family)}) "
               f"against the {words}, {family.describe()}; lower is better; bands are 95% bootstrap intervals."
               f"{plotting.reference_words(family, metrics.CPU_PER_LINE)}")
    return plotting.metric_chart(family, metrics.CPU_PER_LINE, styles, out_dir, context,
                                 stem=f"cpu-{family.slug()}", title=title, caption=caption, yscale="log",
                                 section="efficiency")


def rss_chart(family, styles, out_dir, context):
    words = SWEEP_WORDS[family.sweep]
    title = f"Server memory per connection vs {SWEEP_TITLES[family.sweep]}: {family.describe()}"
    caption = (f"Growth of the server's resident memory under load per connection (KiB, active + idle, "
               f"{plotting.repetitions_text(family)}) against the {words}, {family.describe()}; "
               f"only from {metrics.RSS_MIN_CONNECTIONS} connections up, where it is more than page noise."
               f"{plotting.reference_words(family, metrics.RSS_PER_CONNECTION)}")
    return plotting.metric_chart(family, metrics.RSS_PER_CONNECTION, styles, out_dir, context,
                                 stem=f"rss-{family.slug()}", title=title, caption=caption, yscale="log-or-symlog",
                                 note_missing=False, section="efficiency")
