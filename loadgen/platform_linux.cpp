// Linux: the affinity mask, IP_BIND_ADDRESS_NO_PORT, and what /proc says (the CPU's name,
// the network limits). What every Unix does alike is in platform_unix.cpp.
#include <netinet/in.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "loadgen/platform.hpp"

namespace loadgen {
namespace {

// The first line of a /proc file, or "" where it cannot be read.
std::string read_proc(const char* path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

}  // namespace

int allowed_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void defer_local_port(std::intptr_t socket_handle) {
    int one = 1;
    ::setsockopt(static_cast<int>(socket_handle), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
}

void raise_open_file_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
}

std::optional<long> listen_backlog_cap() {
    std::istringstream in(read_proc("/proc/sys/net/core/somaxconn"));
    long cap = 0;
    if (in >> cap) return cap;
    return std::nullopt;
}

std::optional<port_range> ephemeral_ports() {
    std::istringstream in(read_proc("/proc/sys/net/ipv4/ip_local_port_range"));
    port_range range;
    if (in >> range.low >> range.high) return range;
    return std::nullopt;
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) == 0) {
            auto colon = line.find(':');
            if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
        }
    }
    return "";
}

}  // namespace loadgen
