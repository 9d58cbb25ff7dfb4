// The macOS side of the process layer (harness/process_os.hpp). Never compiled on the
// machine this was written on: only the workflow's macOS job builds it
// (.github/workflows/bench.yml).
//
// macOS has no CPU affinity: thread_policy_set()'s affinity tags are hints that group
// threads, and Apple silicon ignores them. So nothing is pinned, and the results say so.
// Nor has it a subreaper or a death signal: a forking server's orphans go to launchd (the
// harness kills the whole process group before it reaps the leader, so none is left), and
// a child outlives a harness killed by SIGKILL unless its stdin pipe ends it
// (--stop-on-stdin-close, which rot13-bench gives the servers and rot13-load).
#include <libproc.h>
#include <mach-o/dyld.h>
#include <mach/mach_time.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "harness/process.hpp"
#include "harness/process_os.hpp"

namespace harness {

std::vector<int> allowed_cpus() {
    std::vector<int> cpus;
    long online = ::sysconf(_SC_NPROCESSORS_ONLN);
    for (int cpu = 0; cpu < online; ++cpu) cpus.push_back(cpu);
    return cpus;
}

bool can_pin_cpus() {
    return false;
}

std::string pinning_method() {
    return "none: macOS has no CPU affinity (its thread affinity tags are hints, ignored on Apple silicon)";
}

std::filesystem::path executable_dir() {
    char path[4096];
    std::uint32_t size = sizeof(path);
    if (::_NSGetExecutablePath(path, &size) != 0)
        throw std::runtime_error("cannot find the rot13-bench executable: path too long");
    return std::filesystem::canonical(path).parent_path();
}

void become_subreaper() {}

namespace posix {

int pin_self(const std::vector<int>&) noexcept {
    return ENOTSUP;
}

void die_with_parent() noexcept {}

long max_rss_kb(long ru_maxrss) noexcept {
    return ru_maxrss / 1024;  // bytes on macOS
}

group_sample sample_group(long pgid) {
    // proc_pid_rusage() counts CPU time in Mach absolute time units: nanoseconds on Intel,
    // 125/3 ns on Apple silicon; mach_timebase_info() says which.
    static const double ns_per_unit = [] {
        mach_timebase_info_data_t base{};
        ::mach_timebase_info(&base);
        return base.denom ? static_cast<double>(base.numer) / base.denom : 1.0;
    }();
    group_sample sample;
    pid_t pids[4096];
    int bytes = ::proc_listpgrppids(static_cast<pid_t>(pgid), pids, sizeof(pids));
    for (int i = 0; i < bytes / static_cast<int>(sizeof(pid_t)); ++i) {
        rusage_info_v2 info{};
        if (::proc_pid_rusage(pids[i], RUSAGE_INFO_V2, reinterpret_cast<rusage_info_t*>(&info)) != 0) continue;
        // Its own time and that of the children it reaped, as on Linux (utime + cutime).
        double user = static_cast<double>(info.ri_user_time + info.ri_child_user_time) * ns_per_unit / 1e9;
        double sys = static_cast<double>(info.ri_system_time + info.ri_child_system_time) * ns_per_unit / 1e9;
        sample.user_s += user;
        sample.sys_s += sys;
        sample.cpu_s += user + sys;  // already precise: no coarser counter to improve on
        sample.rss_kb += static_cast<long>(info.ri_resident_size / 1024);
        ++sample.processes;
    }
    return sample;
}

}  // namespace posix
}  // namespace harness
