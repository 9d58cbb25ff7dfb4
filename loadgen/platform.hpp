// The few things rot13-load asks of the operating system that differ between systems.
// CMake picks platform_unix.cpp (what every Unix does alike) with platform_linux.cpp or
// platform_bsd.cpp (macOS, the BSDs), or platform_windows.cpp (STYLE.md §4: gate in
// CMake, not with #ifdef).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace loadgen {

// The CPUs this process may run on (its affinity mask where there is one).
int allowed_cpus();

// Asks the kernel to choose a bound socket's local port only at connect() time
// (IP_BIND_ADDRESS_NO_PORT on Linux; nothing elsewhere). The handle is pointer-sized
// because a Windows SOCKET is; on POSIX it holds a file descriptor.
void defer_local_port(std::intptr_t socket_handle);

// Peak resident set size of this process so far, in KiB.
long peak_rss_kb();

// Raises the soft limit on open files to the hard limit (10,000 connections need it).
void raise_open_file_limit();

// The limit on open files, soft and hard. Empty where it is unlimited, or where there is no
// such limit (Windows bounds sockets by memory only).
struct open_file_limits {
    std::optional<std::uint64_t> soft;
    std::optional<std::uint64_t> hard;
};
open_file_limits open_file_limit();

// The kernel's cap on a listen() backlog (Linux: net.core.somaxconn), empty where unknown.
std::optional<long> listen_backlog_cap();

// The range of local ports the kernel picks from for connect(), inclusive; empty where
// unknown.
struct port_range {
    long low = 0;
    long high = 0;
};
std::optional<port_range> ephemeral_ports();

// CPU model name, or "" if unknown.
std::string cpu_model();

// What the results' context says about the system: the host name; the system's name, its
// kernel release and version, and the machine architecture as uname() spells them ("" where
// unknown).
struct system_description {
    std::string host;
    std::string os;
    std::string kernel;
    std::string arch;
};
system_description describe_system();

// CPU seconds this process has used so far, in user and in kernel mode.
struct cpu_times {
    double user = 0;
    double sys = 0;
};
cpu_times process_cpu_times();

// Makes a write to a connection the peer has reset fail with an error code instead of
// killing the process with SIGPIPE. Windows has no SIGPIPE: there it does nothing.
void ignore_sigpipe();

// True when stderr is a terminal that can show the progress line, which redraws itself
// with "\r" and an ANSI erase sequence. A Windows console understands that sequence only
// once virtual-terminal processing is switched on, which this does.
bool stderr_is_terminal();

// Runs a command line through the system's shell (sh -c, cmd /c) and returns its exit
// status and what it wrote on stdout (stderr too, when the command line says 2>&1).
// Empty when the shell itself could not be started.
struct command_output {
    int status = 0;  // the command's exit status; 127: the shell did not find it
    std::string text;
};
std::optional<command_output> run_command(const std::string& command_line);

// Blocks until this process's standard input reaches end of file or fails (whatever it
// reads is thrown away). For a thread of its own: rot13-load --stop-on-stdin-close.
void wait_for_stdin_to_close();

}  // namespace loadgen
