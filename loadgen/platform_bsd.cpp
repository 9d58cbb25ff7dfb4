// macOS and the BSDs: no affinity mask to read, no IP_BIND_ADDRESS_NO_PORT; the CPU's
// name and the network limits come from sysctl. What every Unix does alike is in
// platform_unix.cpp. Never compiled by this project's own runs (Linux, and Windows under
// Wine, are): see docs/loadgen.md.
#include <sys/resource.h>
#include <sys/sysctl.h>

#include <algorithm>
#include <thread>

#include "loadgen/platform.hpp"

namespace loadgen {
namespace {

std::optional<long> sysctl_int(const char* name) {
    int value = 0;
    std::size_t size = sizeof(value);
    if (::sysctlbyname(name, &value, &size, nullptr, 0) == 0) return value;
    return std::nullopt;
}

}  // namespace

int allowed_cpus() {
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void defer_local_port(std::intptr_t) {}

void raise_open_file_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        // macOS reports an unlimited hard limit but refuses a soft one above
        // kern.maxfilesperproc: ask for no more than that.
        long most = sysctl_int("kern.maxfilesperproc").value_or(1 << 20);
        limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, static_cast<rlim_t>(most));
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
}

std::optional<long> listen_backlog_cap() {
    return sysctl_int("kern.ipc.somaxconn");
}

std::optional<port_range> ephemeral_ports() {
    auto first = sysctl_int("net.inet.ip.portrange.first");
    auto last = sysctl_int("net.inet.ip.portrange.last");
    if (!first || !last) return std::nullopt;
    return port_range{*first, *last};
}

std::string cpu_model() {
    char name[256];
    std::size_t size = sizeof(name);
    if (::sysctlbyname("machdep.cpu.brand_string", name, &size, nullptr, 0) == 0) return std::string(name);
    return "";
}

}  // namespace loadgen
