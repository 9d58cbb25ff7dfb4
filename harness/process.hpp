// Child processes for the harness, on every OS: start a server or rot13-load pinned to some
// CPUs so that nothing it starts outlives the harness, read its stdout without blocking,
// sample its CPU time and memory while it runs, ask it to stop, and collect how it ended.
//
// CMake compiles one implementation (STYLE.md §11), the way loadgen/platform_*.cpp are chosen:
//   process_posix.cpp    fork/exec into a process group of its own, kill(-pgid), wait4();
//     with process_linux.cpp    sched_setaffinity, PR_SET_PDEATHSIG, a subreaper, /proc
//     or process_macos.cpp      no affinity ("not pinned"), proc_pid_rusage
//     or process_freebsd.cpp    cpuset_setaffinity, procctl reaper and death signal, kinfo_proc
//   process_windows.cpp  CreateProcess into a job object (kill-on-close), CTRL_BREAK for a
//                        graceful stop before TerminateJobObject, GetProcessTimes,
//                        PeakWorkingSetSize, SetProcessAffinityMask
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace harness {

// The CPUs this process may run on, in increasing order.
std::vector<int> allowed_cpus();

// "0-3,6" <-> {0,1,2,3,6}. parse_cpu_list throws std::invalid_argument on bad text.
std::vector<int> parse_cpu_list(const std::string& text);
std::string format_cpu_list(const std::vector<int>& cpus);

// Whether this OS can pin a process to CPUs (macOS cannot).
bool can_pin_cpus();

// How this OS pins a child to CPUs, for the results' context ("sched_setaffinity in the
// child before exec"; "none: macOS has no CPU affinity").
std::string pinning_method();

// The directory of the running rot13-bench executable.
std::filesystem::path executable_dir();

// A file name that is this process's stderr, for a child's log (serve mode relays the
// server's stderr): /dev/stderr on POSIX; empty on Windows (the log then goes nowhere).
std::filesystem::path own_stderr();

// What the OS adds to a program's name to make its file name: ".exe" on Windows.
std::string executable_suffix();

struct spawn_options {
    std::vector<std::string> argv;
    std::vector<int> cpus;        // empty: not pinned
    bool capture_stdout = false;  // stdout on a pipe (read_stdout()), else into log
    bool stdin_pipe = false;      // stdin on a pipe the harness closes to ask for a stop
                                  // (rot13-load --stop-on-stdin-close), else empty
    std::filesystem::path log;    // stderr (and stdout unless captured) go here; empty: nowhere
};

// How a child ended, with the resources it used. On POSIX from wait4(): the rusage of the
// child and of every descendant it waited for (a process that forks must reap its
// children for their CPU time to be counted). On Windows from the process handle.
struct exit_status {
    std::optional<int> code;    // its exit code, if it exited
    std::optional<int> signal;  // the signal that ended it (POSIX only)
    double user_s = 0;
    double sys_s = 0;
    long peak_rss_kb = 0;  // the largest single process's peak resident (working) set

    bool exited_zero() const { return code == 0; }
    bool exited_with(int value) const { return code == value; }
    bool signaled(int sig) const { return signal == sig; }
    // "ok" (exit 0), "exit 1", "signal SIGSEGV" (POSIX), "exit 0xC0000005" (Windows).
    std::string describe() const;
};

// One look at a child and whatever it started that is still alive.
struct group_sample {
    long rss_kb = 0;    // resident memory, summed over the processes
    double user_s = 0;  // CPU time, including children its members reaped; coarse where the
    double sys_s = 0;   // OS counts in clock ticks (Linux: 10 ms per process)
    double cpu_s = 0;   // the same total, from the most precise counter the OS has
    int processes = 0;
};

class child_process {
public:
    // Starts opts.argv[0] (a path, or a name looked up in PATH). Throws std::system_error
    // when the OS cannot create a process; a program that cannot be run is reported by
    // exec_error() and an exit of 127.
    explicit child_process(const spawn_options& opts);
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;
    // Kills the child and everything it started, and reaps it: nothing the harness started
    // outlives it.
    ~child_process();

    long pid() const;
    const std::string& pin_error() const;   // empty: pinned as asked (or not asked)
    const std::string& exec_error() const;  // empty: the program started

    // Appends to out whatever the child has written on its stdout pipe so far, without
    // blocking. Returns false once the pipe is at end of file (or was never captured).
    bool read_stdout(std::string& out);

    // Writes text to the child's stdin pipe (spawn_options::stdin_pipe). Returns false when
    // there is no pipe or the child has closed its end.
    bool write_stdin(const std::string& text);

    // Reaps the child if it has exited, after killing what is left of what it started (a
    // forking server's children); never blocks.
    const std::optional<exit_status>& poll_exit();
    const std::optional<exit_status>& exited() const;

    // Asks the child and everything it started to stop gracefully: SIGTERM to its process
    // group on POSIX; on Windows CTRL_BREAK_EVENT to its console process group. Either way
    // its stdin pipe, if it has one, is closed.
    void request_stop();
    // Kills the child and everything it started, then reaps it (blocking).
    void kill_and_reap();

    // Its CPU time and memory now, with whatever it started (zeros once it is reaped).
    group_sample sample() const;

    struct os_state;  // what the OS needs to keep per child (process_<os>.cpp)

private:
    std::unique_ptr<os_state> os_;
    std::string pin_error_;
    std::string exec_error_;
    std::optional<exit_status> exit_;
};

// Prepares this process to be a harness: on Linux and FreeBSD it becomes the reaper of its
// orphaned descendants, so that child_process can reap what a server forked. Call once,
// before starting children.
void become_subreaper();

}  // namespace harness
