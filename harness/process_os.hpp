// Inside the process layer (harness/process.hpp): what each OS's file provides to the
// others. Not for the rest of the harness.
#pragma once

#include <string>
#include <vector>

#include "harness/process.hpp"

namespace harness {

// "SIGSEGV" (or "signal 42"). POSIX only; elsewhere "signal N".
std::string signal_name(int sig);

// The hooks process_posix.cpp calls, from process_linux.cpp, process_macos.cpp or
// process_freebsd.cpp.
namespace posix {

// In the forked child, between fork and exec, so only async-signal-safe calls: pins this
// process to cpus. Returns 0, or the errno of the failure (ENOTSUP where the OS cannot).
int pin_self(const std::vector<int>& cpus) noexcept;

// In the forked child: asks the kernel to kill it when the harness dies, even by SIGKILL,
// where the OS can (Linux, FreeBSD). Elsewhere nothing: the child's stdin pipe (rot13-load
// --stop-on-stdin-close) is then what ends it.
void die_with_parent() noexcept;

// rusage's ru_maxrss in KiB: it is KiB on Linux and the BSDs, bytes on macOS.
long max_rss_kb(long ru_maxrss) noexcept;

// Every live process of process group pgid, summed.
group_sample sample_group(long pgid);

}  // namespace posix
}  // namespace harness
