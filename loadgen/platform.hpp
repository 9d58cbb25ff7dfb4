// The few things rot13-load asks of the operating system that differ between systems.
// CMake picks platform_linux.cpp or platform_posix.cpp (STYLE.md §4: gate in CMake).
#pragma once

#include <string>

namespace loadgen {

// The CPUs this process may run on (its affinity mask where there is one).
int allowed_cpus();

// Asks the kernel to choose a bound socket's local port only at connect() time
// (IP_BIND_ADDRESS_NO_PORT on Linux; nothing elsewhere).
void defer_local_port(int fd);

// Peak resident set size of this process so far, in KiB.
long peak_rss_kb();

// Raises the soft limit on open files to the hard limit (10,000 connections need it).
void raise_open_file_limit();

// CPU model name, or "" if unknown.
std::string cpu_model();

}  // namespace loadgen
