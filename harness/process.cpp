#include "harness/process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "common/errors.hpp"

namespace harness {

std::vector<int> allowed_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    std::vector<int> cpus;
    if (::sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    return cpus;
}

std::vector<int> parse_cpu_list(const std::string& text) {
    std::vector<int> cpus;
    std::istringstream in(text);
    std::string part;
    auto number = [&](const std::string& s) {
        std::size_t used = 0;
        int value = -1;
        try {
            value = std::stoi(s, &used);
        } catch (const std::exception&) {
        }
        if (used != s.size() || value < 0 || value >= CPU_SETSIZE)
            throw std::invalid_argument("bad CPU list '" + text + "' (expected e.g. 0-3,6)");
        return value;
    };
    while (std::getline(in, part, ',')) {
        auto dash = part.find('-');
        int first = number(part.substr(0, dash));
        int last = dash == std::string::npos ? first : number(part.substr(dash + 1));
        if (last < first) throw std::invalid_argument("bad CPU range '" + part + "'");
        for (int cpu = first; cpu <= last; ++cpu) cpus.push_back(cpu);
    }
    if (cpus.empty()) throw std::invalid_argument("empty CPU list");
    return cpus;
}

std::string format_cpu_list(const std::vector<int>& cpus) {
    std::string out;
    for (std::size_t i = 0; i < cpus.size();) {
        std::size_t j = i;
        while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
        if (!out.empty()) out += ',';
        out += std::to_string(cpus[i]);
        if (j > i) {
            out += '-';
            out += std::to_string(cpus[j]);
        }
        i = j + 1;
    }
    return out;
}

std::string signal_name(int sig) {
    if (const char* abbrev = ::sigabbrev_np(sig)) return std::string("SIG") + abbrev;
    return "signal " + std::to_string(sig);
}

bool exit_status::exited_zero() const {
    return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
}

bool exit_status::signaled(int sig) const {
    return WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == sig;
}

std::string exit_status::describe() const {
    if (WIFEXITED(wait_status))
        return WEXITSTATUS(wait_status) == 0 ? "ok" : "exit " + std::to_string(WEXITSTATUS(wait_status));
    if (WIFSIGNALED(wait_status)) return "signal " + signal_name(WTERMSIG(wait_status));
    return "status " + std::to_string(wait_status);
}

namespace {

// In the child, between fork and exec: only async-signal-safe calls. Reports problems
// as one text line on report_fd (close-on-exec, so the parent reads EOF at the exec).
[[noreturn]] void exec_child(const spawn_options& opts, char* const* argv, int out_fd, int log_fd,
                             int report_fd, pid_t parent) {
    auto report = [&](const char* what, int error) {
        const char* text = std::strerror(error);
        [[maybe_unused]] ssize_t n = ::write(report_fd, what, std::strlen(what));
        n = ::write(report_fd, text, std::strlen(text));
        n = ::write(report_fd, "\n", 1);
    };
    // Own process group: the harness stops a forking server and all its children with
    // one kill(-pgid), and a Ctrl-C in the terminal reaches only the harness, which then
    // stops everything in order.
    ::setpgid(0, 0);
    // Die with the harness, even if it is killed with SIGKILL.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    if (!opts.cpus.empty()) {
        cpu_set_t set;
        CPU_ZERO(&set);
        for (int cpu : opts.cpus) CPU_SET(cpu, &set);
        if (::sched_setaffinity(0, sizeof(set), &set) != 0) report("pin: ", errno);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::dup2(out_fd >= 0 ? out_fd : log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execvp(argv[0], argv);
    report("exec: ", errno);
    ::_exit(127);
}

}  // namespace

child_process::child_process(const spawn_options& opts) {
    if (opts.argv.empty()) throw std::invalid_argument("child_process: empty command");
    std::vector<std::string> storage = opts.argv;
    std::vector<char*> argv;
    for (auto& arg : storage) argv.push_back(arg.data());
    argv.push_back(nullptr);

    int out[2] = {-1, -1};
    int report[2];
    if (opts.capture_stdout && ::pipe2(out, O_CLOEXEC) != 0) rot13::throw_errno("pipe");
    if (::pipe2(report, O_CLOEXEC) != 0) rot13::throw_errno("pipe");
    std::string log = opts.log.empty() ? "/dev/null" : opts.log.string();
    int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) rot13::throw_errno("cannot open " + log);

    pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) rot13::throw_errno("fork");
    if (pid_ == 0) exec_child(opts, argv.data(), out[1], log_fd, report[1], parent);

    // Also from the parent, so that signal_group() works even before the child ran.
    ::setpgid(pid_, pid_);
    ::close(log_fd);
    ::close(report[1]);
    if (out[1] >= 0) ::close(out[1]);
    stdout_fd_ = out[0];

    // Until the exec (or the child's exit), the child reports pinning and exec failures.
    std::string text;
    char buf[256];
    for (ssize_t n; (n = ::read(report[0], buf, sizeof(buf))) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        text.append(buf, static_cast<std::size_t>(n));
    }
    ::close(report[0]);
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("pin: ", 0) == 0)
            pin_error_ = "sched_setaffinity(" + format_cpu_list(opts.cpus) + "): " + line.substr(5);
        if (line.rfind("exec: ", 0) == 0) exec_error_ = "cannot run " + opts.argv[0] + ": " + line.substr(6);
    }
}

child_process::~child_process() {
    kill_and_reap();
    if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

// The process group is signalled only while its leader is not reaped: until then its
// pid, which is the group's id, cannot be given to another process, so kill(-pid) cannot
// hit a stranger. That is why poll_exit() looks with WNOWAIT first, kills what is left of
// the group (a forking server's children), and only then reaps.
const std::optional<exit_status>& child_process::poll_exit() {
    if (exit_ || pid_ <= 0) return exit_;
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
        info.si_pid != pid_)
        return exit_;
    ::kill(-pid_, SIGKILL);
    reap();
    return exit_;
}

void child_process::signal(int sig) {
    if (!exit_ && pid_ > 0) ::kill(pid_, sig);
}

void child_process::signal_group(int sig) {
    if (!exit_ && pid_ > 0) ::kill(-pid_, sig);
}

void child_process::kill_and_reap() {
    if (exit_ || pid_ <= 0) return;
    ::kill(-pid_, SIGKILL);
    reap();
}

void child_process::reap() {
    exit_status status;
    while (::wait4(pid_, &status.wait_status, 0, &status.usage) < 0 && errno == EINTR) {
    }
    exit_ = status;
    // The group was just sent SIGKILL. Members orphaned by the leader's exit (a forking
    // server's children) are the harness's children now (become_subreaper): reap them
    // too, so that not even a zombie is left behind.
    while (::waitpid(-pid_, nullptr, 0) > 0 || errno == EINTR) {
    }
}

void become_subreaper() {
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
}

namespace {

struct proc_stat {
    char state = '?';
    pid_t pgrp = 0;
    long utime = 0, stime = 0, cutime = 0, cstime = 0;  // clock ticks
    long rss_pages = 0;
};

// Parses /proc/<pid>/stat: "pid (comm) state ppid pgrp ...", where comm may hold spaces.
bool read_stat(const std::string& pid, proc_stat& out) {
    std::ifstream in("/proc/" + pid + "/stat");
    std::string text;
    if (!std::getline(in, text)) return false;
    auto paren = text.rfind(')');
    if (paren == std::string::npos || paren + 2 > text.size()) return false;
    std::istringstream fields(text.substr(paren + 2));
    std::vector<std::string> v;
    for (std::string f; fields >> f;) v.push_back(f);
    // After comm: state(0) ppid(1) pgrp(2) ... utime(11) stime(12) cutime(13) cstime(14) ... rss(21).
    if (v.size() < 22) return false;
    try {
        out.state = v[0][0];
        out.pgrp = static_cast<pid_t>(std::stol(v[2]));
        out.utime = std::stol(v[11]);
        out.stime = std::stol(v[12]);
        out.cutime = std::stol(v[13]);
        out.cstime = std::stol(v[14]);
        out.rss_pages = std::stol(v[21]);
    } catch (const std::exception&) {
        return false;
    }
    return true;
}

// Nanoseconds on CPU of every live thread of pid, from /proc/<pid>/task/*/schedstat
// (its first field). 0 where the kernel has no schedstat.
double threads_cpu_s(const char* pid) {
    double total_ns = 0;
    std::string tasks = std::string("/proc/") + pid + "/task";
    DIR* dir = ::opendir(tasks.c_str());
    if (!dir) return 0;
    while (dirent* entry = ::readdir(dir)) {
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
        std::ifstream in(tasks + "/" + entry->d_name + "/schedstat");
        double ns = 0;
        if (in >> ns) total_ns += ns;
    }
    ::closedir(dir);
    return total_ns / 1e9;
}

}  // namespace

group_sample sample_group(pid_t pgid) {
    // Summing utime + cutime over the live members counts every process once: a reaped
    // child is in its parent's cutime and no longer in /proc; a live one is in /proc and
    // not yet in its parent's cutime. Zombies still show their own times, and no memory.
    //
    // utime and stime come in clock ticks, rounded down per process: a hundred forked
    // children that each ran 3 ms show 0. So cpu_s takes each process's threads from the
    // scheduler's nanosecond counters instead, or its ticks where those are larger (the
    // ticks include threads that have exited; the counters only the live ones).
    static const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    static const long page_kb = ::sysconf(_SC_PAGESIZE) / 1024;
    group_sample sample;
    DIR* dir = ::opendir("/proc");
    if (!dir) return sample;
    while (dirent* entry = ::readdir(dir)) {
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
        proc_stat stat;
        if (!read_stat(entry->d_name, stat) || stat.pgrp != pgid) continue;
        sample.rss_kb += stat.rss_pages * page_kb;
        sample.user_s += static_cast<double>(stat.utime + stat.cutime) / ticks;
        sample.sys_s += static_cast<double>(stat.stime + stat.cstime) / ticks;
        sample.cpu_s +=
            std::max(static_cast<double>(stat.utime + stat.stime) / ticks, threads_cpu_s(entry->d_name)) +
            static_cast<double>(stat.cutime + stat.cstime) / ticks;
        ++sample.processes;
    }
    ::closedir(dir);
    return sample;
}

}  // namespace harness
