// Other POSIX systems (macOS, the BSDs): no affinity mask to read, no
// IP_BIND_ADDRESS_NO_PORT, ru_maxrss in bytes on macOS.
#include <sys/resource.h>
#include <sys/sysctl.h>

#include <algorithm>
#include <thread>

#include "loadgen/platform.hpp"

namespace loadgen {

int allowed_cpus() {
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void defer_local_port(int) {}

long peak_rss_kb() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
#if defined(__APPLE__)
    return usage.ru_maxrss / 1024;  // bytes on macOS
#else
    return usage.ru_maxrss;
#endif
}

void raise_open_file_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 1 << 20);
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
}

std::string cpu_model() {
    char name[256];
    std::size_t size = sizeof(name);
    if (::sysctlbyname("machdep.cpu.brand_string", name, &size, nullptr, 0) == 0) return std::string(name);
    return "";
}

}  // namespace loadgen
