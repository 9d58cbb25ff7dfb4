// The "context" of a results object: what machine, system and build produced it
// (STYLE.md §8: every results file starts with its context).
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <zlib.h>

#include <boost/version.hpp>
#include <chrono>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include "loadgen/platform.hpp"
#include "loadgen/results.hpp"

#ifndef ROT13_BUILD_TYPE
#define ROT13_BUILD_TYPE "unknown"
#endif

namespace loadgen {

extern const char* const build_git_commit;  // generated at build time (git_commit.cmake)

namespace {

using nlohmann::json;

// The first line of a /proc file, or null where there is none (not Linux).
json read_proc(const char* path) {
    std::ifstream in(path);
    std::string line;
    if (!in || !std::getline(in, line)) return nullptr;
    return line;
}

std::string compiler() {
#if defined(__clang__)
    return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
    return std::string("gcc ") + __VERSION__;
#elif defined(_MSC_VER)
    return "msvc " + std::to_string(_MSC_VER);
#else
    return "unknown";
#endif
}

}  // namespace

json collect_context() {
    json ctx;
    std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm utc{};
    gmtime_r(&now, &utc);
    char date[32];
    std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &utc);
    ctx["date"] = date;

    char host[256] = {};
    ::gethostname(host, sizeof(host) - 1);
    ctx["host"] = host;
    utsname uts{};
    if (::uname(&uts) == 0) {
        ctx["os"] = uts.sysname;
        ctx["kernel"] = std::string(uts.release) + " " + uts.version;
        ctx["arch"] = uts.machine;
    }
    ctx["cpu_model"] = cpu_model();
    ctx["cores"] = std::thread::hardware_concurrency();
    ctx["allowed_cpus"] = allowed_cpus();
    ctx["compiler"] = compiler();
    ctx["build_type"] = ROT13_BUILD_TYPE;
    ctx["git_commit"] = build_git_commit;
    ctx["library_versions"] = {
        {"boost", std::to_string(BOOST_VERSION / 100000) + "." + std::to_string(BOOST_VERSION / 100 % 1000) +
                      "." + std::to_string(BOOST_VERSION % 100)},
        {"zlib", ZLIB_VERSION},
        {"nlohmann_json", std::to_string(NLOHMANN_JSON_VERSION_MAJOR) + "." +
                              std::to_string(NLOHMANN_JSON_VERSION_MINOR) + "." +
                              std::to_string(NLOHMANN_JSON_VERSION_PATCH)},
    };

    json limits;
    rlimit nofile{};
    if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
        limits["nofile"] = nofile.rlim_cur == RLIM_INFINITY ? json(nullptr) : json(nofile.rlim_cur);
        limits["nofile_hard"] = nofile.rlim_max == RLIM_INFINITY ? json(nullptr) : json(nofile.rlim_max);
    }
    json somaxconn = read_proc("/proc/sys/net/core/somaxconn");
    limits["somaxconn"] = somaxconn.is_null() ? somaxconn : json(std::stol(somaxconn.get<std::string>()));
    json range = read_proc("/proc/sys/net/ipv4/ip_local_port_range");
    if (range.is_null()) {
        limits["ip_local_port_range"] = nullptr;
    } else {
        std::istringstream in(range.get<std::string>());
        long low = 0, high = 0;
        in >> low >> high;
        limits["ip_local_port_range"] = {low, high};
    }
    ctx["limits"] = std::move(limits);
    return ctx;
}

}  // namespace loadgen
