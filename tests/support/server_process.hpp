// Test support: start a real server binary, wait for its readiness line, stop it, and
// read its resource use from /proc. Used by the conformance suite and integration tests.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rot13::test {

struct launch_options {
    std::string binary;
    std::vector<std::string> args;                 // besides --port 0
    std::optional<long> nofile_limit = {};        // RLIMIT_NOFILE for the child, if set
    std::chrono::milliseconds ready_timeout{10000};
    // A command that runs the binary, e.g. {"/usr/lib/wine/wine64"} for a Windows server:
    // the process started is `launcher... binary --port 0 args...`, and pid() is the
    // launcher's (under Wine that is the Windows program's own process).
    std::vector<std::string> launcher = {};
    // Sent first when the server is still running at destruction, with up to 2 s to exit
    // before SIGKILL; 0: SIGKILL at once. Wine 8's wineserver can crash (an assertion in
    // server/sock.c) while it cleans up after a Windows program killed with overlapped
    // socket operations outstanding, taking every Wine process with it, so the Windows
    // servers are stopped their graceful way (SIGINT, which Wine turns into Ctrl-C).
    int stop_signal = 0;
    // stdin on a pipe that close_stdin() closes (for --stop-on-stdin-close); else inherited.
    bool stdin_pipe = false;
};

// Exit code a server uses to say "this mechanism is not available here" (e.g. the
// kernel refuses io_uring): the tests report a skip, never a pass.
inline constexpr int unavailable_exit_code = 77;

class server_process {
public:
    // Starts `binary --port 0 args...` with stdout on a pipe and stderr inherited, and
    // waits for "listening on ADDR:PORT". Throws std::runtime_error on failure; if the
    // server exits with unavailable_exit_code first, unavailable() is true instead.
    explicit server_process(const launch_options& options);
    server_process(const server_process&) = delete;
    server_process& operator=(const server_process&) = delete;
    // Stops the server if still running (stop_signal first, if set, then SIGKILL, to it
    // and to its process group) and reaps it.
    ~server_process();

    bool unavailable() const { return unavailable_; }
    std::uint16_t port() const { return port_; }
    pid_t pid() const { return pid_; }
    const std::string& readiness_line() const { return readiness_line_; }

    // True while the process has not exited (reaps it if it has).
    bool running();

    // Sends sig and waits up to timeout for the exit. Returns the wait status, or
    // nullopt if it is still running after timeout.
    std::optional<int> signal_and_wait(int sig, std::chrono::milliseconds timeout);

    // Closes the write end of the server's stdin pipe (launch_options::stdin_pipe) and waits
    // up to timeout for the exit. Returns the wait status, or nullopt if still running.
    std::optional<int> close_stdin_and_wait(std::chrono::milliseconds timeout);

private:
    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    int stdin_fd_ = -1;
    std::uint16_t port_ = 0;
    bool unavailable_ = false;
    bool reaped_ = false;
    int stop_signal_ = 0;
    int status_ = 0;
    std::string readiness_line_;
};

// Resident memory of pid and all its descendants, in KiB (from /proc/<pid>/status VmRSS).
long tree_rss_kb(pid_t pid);

// CPU time (user + system) of pid and all its live descendants, in seconds.
double tree_cpu_seconds(pid_t pid);

// Processes in process group pgid that have not exited (zombies excluded).
std::vector<pid_t> live_processes_in_group(pid_t pgid);

// Every live descendant of pid (children, grandchildren, ...).
std::vector<pid_t> descendants(pid_t pid);

}  // namespace rot13::test
