"""Which I/O mechanism family a server belongs to, and which is an OS's own.

The charts draw one panel per family (small multiples) so that no panel holds more than a
handful of lines, and the cross-OS report puts each OS's best native mechanism side by
side. Both key on the variant (config.variant: "kqueue"), never on the label a results
file shows for it (on Linux the kqueue server is libkqueue's emulation and may be
displayed as "kqueue (libkqueue on Linux)"), so a relabelled variant stays in its family.
A server whose variant is not in the map (a custom command, a new design) goes into the
"other" panel: it is drawn, never dropped.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class MechanismFamily:
    key: str
    title: str
    variants: tuple


FAMILIES = (
    MechanismFamily("blocking", "blocking: a process or thread per connection", ("fork", "threads", "threadpool")),
    MechanismFamily("readiness", "readiness: select, poll, epoll, kqueue", ("select", "poll", "epoll", "kqueue")),
    MechanismFamily("libevent", "libevent: events and bufferevents, per backend",
                    ("libevent-event", "libevent-bufferevent")),
    MechanismFamily("completion", "completion: Asio, io_uring, IOCP", ("asio", "io_uring", "iocp")),
)
OTHER = MechanismFamily("other", "other: designs of no family above", ())

# Written by hand against the OS's own interface, without a library in between: the
# reference line on every panel is the best of these.
HAND_WRITTEN = ("fork", "threads", "threadpool", "select", "poll", "epoll", "kqueue", "io_uring", "iocp")

# Each OS's own scalable mechanism, best first; the first one the results have is "the
# best native mechanism" of that OS. Linux has two (epoll, io_uring): epoll is the one the
# chapter compares the others with.
NATIVE = {"linux": ("epoll", "io_uring"), "macos": ("kqueue",), "bsd": ("kqueue",), "windows": ("iocp",)}
OS_NAMES = {"linux": "Linux", "macos": "macOS", "bsd": "BSD", "windows": "Windows"}


def variant_of(series):
    return series.variant or series.server


def family_of(series):
    variant = variant_of(series)
    for family in FAMILIES:
        if variant in family.variants:
            return family
    return OTHER


def group_by_family(series_list):
    """[(family, [series...])] in FAMILIES order, then "other"; only families with members."""
    groups = {}
    for s in series_list:
        groups.setdefault(family_of(s).key, []).append(s)
    ordered = [f for f in FAMILIES + (OTHER,) if f.key in groups]
    return [(f, groups[f.key]) for f in ordered]


def is_hand_written(series):
    return series.variant in HAND_WRITTEN and not series.backend


def os_kind(context):
    """"linux", "macos", "bsd", "windows" or "unknown", from a results file's context.os
    and context.kernel (rot13-load writes uname's sysname, or "Windows"; the harness on
    Linux writes the distribution's PRETTY_NAME)."""
    text = f"{context.get('os') or ''} {context.get('kernel') or ''}".lower()
    if "windows" in text or "wine" in text or "mingw" in text:
        return "windows"
    if "darwin" in text or "macos" in text or "mac os" in text:
        return "macos"
    if any(name in text for name in ("freebsd", "openbsd", "netbsd", "dragonfly")):
        return "bsd"
    if "linux" in text:
        return "linux"
    return "unknown"


def os_label(context):
    """"Linux", "macOS", "FreeBSD", "Windows (Wine 8.0)": a short name for a column."""
    kind = os_kind(context)
    os_text = str(context.get("os") or "")
    kernel = str(context.get("kernel") or "")
    if kind == "bsd":
        return os_text.split()[0] if os_text else "BSD"
    if kind == "windows" and "wine" in kernel.lower():
        return "Windows (" + kernel[kernel.lower().index("wine"):].strip("() ") + ")"
    return OS_NAMES.get(kind, os_text or "unknown OS")


def native_mechanism(context, variants_measured):
    """The OS's best native mechanism among the variants the results have measured, or None."""
    for variant in NATIVE.get(os_kind(context), ()):
        if variant in variants_measured:
            return variant
    return None
