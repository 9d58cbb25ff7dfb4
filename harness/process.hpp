// Child processes for the harness: start a server or rot13-load pinned to some CPUs in a
// process group of its own, reap it with its resource usage, and sample a whole process
// group from /proc. Linux: sched_setaffinity, prctl and /proc.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace harness {

// The CPUs this process may run on (sched_getaffinity), in increasing order.
std::vector<int> allowed_cpus();

// "0-3,6" <-> {0,1,2,3,6}. parse_cpu_list throws std::invalid_argument on bad text.
std::vector<int> parse_cpu_list(const std::string& text);
std::string format_cpu_list(const std::vector<int>& cpus);

struct spawn_options {
    std::vector<std::string> argv;
    std::vector<int> cpus;        // empty: not pinned
    bool capture_stdout = false;  // stdout on a pipe (stdout_fd()), else into log
    std::filesystem::path log;    // stderr (and stdout unless captured) go here; empty: /dev/null
};

// How a child ended, from wait4(): the status and the rusage of the child and of every
// descendant it waited for. A process that forks must reap its children for their CPU
// time to be counted here (the fork server does; a child that is never reaped is not).
struct exit_status {
    int wait_status = 0;
    rusage usage{};

    bool exited_zero() const;
    bool signaled(int sig) const;
    // "ok" (exit 0), "exit 1", "signal SIGSEGV".
    std::string describe() const;
};

class child_process {
public:
    // Forks and execs opts.argv[0] (a path, or a name looked up in PATH). Throws
    // std::system_error when the fork fails; a failed exec is exit 127 with the reason
    // in exec_error().
    explicit child_process(const spawn_options& opts);
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;
    // Kills the whole process group with SIGKILL and reaps the child: nothing the
    // harness started outlives it.
    ~child_process();

    pid_t pid() const { return pid_; }
    int stdout_fd() const { return stdout_fd_; }
    const std::string& pin_error() const { return pin_error_; }    // empty: pinned as asked
    const std::string& exec_error() const { return exec_error_; }  // empty: exec succeeded

    // Reaps the child if it has exited, after killing what is left of its process group
    // (a forking server's children); never blocks.
    const std::optional<exit_status>& poll_exit();
    const std::optional<exit_status>& exited() const { return exit_; }

    void signal(int sig);        // the process itself
    void signal_group(int sig);  // its process group: forked children too
    // SIGKILL to the group, then a blocking reap.
    void kill_and_reap();

private:
    void reap();

    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    std::string pin_error_;
    std::string exec_error_;
    std::optional<exit_status> exit_;
};

// Makes the orphaned descendants of this process its children (PR_SET_CHILD_SUBREAPER)
// instead of init's, so that child_process can reap what a server forked. Call once,
// before starting children.
void become_subreaper();

// One look at every live process of a process group, from /proc.
struct group_sample {
    long rss_kb = 0;    // sum of VmRSS over the group's processes
    double user_s = 0;  // CPU time of the group, including children its members reaped,
    double sys_s = 0;   // in clock ticks (10 ms) per process: coarse
    double cpu_s = 0;   // the same total, from the scheduler's nanosecond counters
    int processes = 0;
};
group_sample sample_group(pid_t pgid);

// "SIGSEGV" (or "signal 42").
std::string signal_name(int sig);

}  // namespace harness
