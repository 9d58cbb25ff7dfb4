// The FreeBSD side of the process layer (harness/process_os.hpp). Never compiled on the
// machine this was written on: only the workflow's FreeBSD job builds it
// (.github/workflows/bench.yml).
//
// FreeBSD has what Linux has, under other names: cpuset_setaffinity() for pinning,
// procctl(PROC_PDEATHSIG_CTL) to die with the harness, procctl(PROC_REAP_ACQUIRE) to
// become the reaper of a forking server's orphans, and sysctl(KERN_PROC_PGRP) for a
// process group's kinfo_proc records instead of /proc.
#include <sys/types.h>
#include <sys/cpuset.h>
#include <sys/proc.h>  // SZOMB
#include <sys/procctl.h>
#include <sys/sysctl.h>
#include <sys/user.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "harness/process.hpp"
#include "harness/process_os.hpp"

namespace harness {

std::vector<int> allowed_cpus() {
    cpuset_t set;
    CPU_ZERO(&set);
    std::vector<int> cpus;
    if (::cpuset_getaffinity(CPU_LEVEL_WHICH, CPU_WHICH_PID, -1, sizeof(set), &set) != 0) return cpus;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    return cpus;
}

bool can_pin_cpus() {
    return true;
}

std::string pinning_method() {
    return "cpuset_setaffinity in the child before exec";
}

std::filesystem::path executable_dir() {
    int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PATHNAME, -1};
    char path[4096];
    std::size_t size = sizeof(path);
    if (::sysctl(mib, 4, path, &size, nullptr, 0) != 0)
        throw std::runtime_error("cannot find the rot13-bench executable: sysctl KERN_PROC_PATHNAME failed");
    return std::filesystem::path(path).parent_path();
}

void become_subreaper() {
    ::procctl(P_PID, ::getpid(), PROC_REAP_ACQUIRE, nullptr);
}

namespace posix {

int pin_self(const std::vector<int>& cpus) noexcept {
    cpuset_t set;
    CPU_ZERO(&set);
    for (int cpu : cpus) CPU_SET(cpu, &set);
    return ::cpuset_setaffinity(CPU_LEVEL_WHICH, CPU_WHICH_PID, -1, sizeof(set), &set) == 0 ? 0 : errno;
}

void die_with_parent() noexcept {
    int signal = SIGKILL;
    ::procctl(P_PID, 0, PROC_PDEATHSIG_CTL, &signal);
}

long max_rss_kb(long ru_maxrss) noexcept {
    return ru_maxrss;  // KiB
}

group_sample sample_group(long pgid) {
    static const long page_kb = ::sysconf(_SC_PAGESIZE) / 1024;
    int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PGRP, static_cast<int>(pgid)};
    group_sample sample;
    std::size_t size = 0;
    if (::sysctl(mib, 4, nullptr, &size, nullptr, 0) != 0 || size == 0) return sample;
    std::vector<kinfo_proc> procs(size / sizeof(kinfo_proc) + 4);  // room for a few new ones
    size = procs.size() * sizeof(kinfo_proc);
    if (::sysctl(mib, 4, procs.data(), &size, nullptr, 0) != 0) return sample;
    auto seconds = [](const timeval& tv) {
        return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
    };
    for (std::size_t i = 0; i < size / sizeof(kinfo_proc); ++i) {
        const kinfo_proc& p = procs[i];
        // Its own time and that of the children it reaped, as on Linux (utime + cutime).
        double child = seconds(p.ki_rusage_ch.ru_utime) + seconds(p.ki_rusage_ch.ru_stime);
        sample.user_s += seconds(p.ki_rusage.ru_utime) + seconds(p.ki_rusage_ch.ru_utime);
        sample.sys_s += seconds(p.ki_rusage.ru_stime) + seconds(p.ki_rusage_ch.ru_stime);
        sample.cpu_s += static_cast<double>(p.ki_runtime) / 1e6 + child;  // ki_runtime: µs, precise
        if (p.ki_stat != SZOMB) sample.rss_kb += static_cast<long>(p.ki_rssize) * page_kb;
        ++sample.processes;
    }
    return sample;
}

}  // namespace posix
}  // namespace harness
