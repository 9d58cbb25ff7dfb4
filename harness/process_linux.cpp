// The Linux side of the process layer (harness/process_os.hpp): sched_setaffinity, a
// death signal and a subreaper from prctl, and a process group sampled from /proc.
#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "harness/process.hpp"
#include "harness/process_os.hpp"

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

bool can_pin_cpus() {
    return true;
}

std::string pinning_method() {
    return "sched_setaffinity in the child before exec";
}

std::filesystem::path executable_dir() {
    std::error_code ec;
    std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) throw std::runtime_error("cannot find the rot13-bench executable: " + ec.message());
    return self.parent_path();
}

// Makes the orphaned descendants of this process its children (PR_SET_CHILD_SUBREAPER)
// instead of init's, so that child_process can reap what a server forked.
void become_subreaper() {
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
}

namespace posix {

int pin_self(const std::vector<int>& cpus) noexcept {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int cpu : cpus) CPU_SET(cpu, &set);
    return ::sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : errno;
}

// Dies with the harness, even if it is killed with SIGKILL.
void die_with_parent() noexcept {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
}

long max_rss_kb(long ru_maxrss) noexcept {
    return ru_maxrss;
}

namespace {

struct proc_stat {
    char state = '?';
    long pgrp = 0;
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
        out.pgrp = std::stol(v[2]);
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

group_sample sample_group(long pgid) {
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

}  // namespace posix
}  // namespace harness
