// The "context" of a results object: what machine, system and build produced it
// (STYLE.md §8: every results file starts with its context).
#include <zlib.h>

#include <boost/version.hpp>
#include <chrono>
#include <thread>

#include "loadgen/platform.hpp"
#include "loadgen/results.hpp"
#include "loadgen/utc_time.hpp"

#ifndef ROT13_BUILD_TYPE
#define ROT13_BUILD_TYPE "unknown"
#endif

namespace loadgen {

extern const char* const build_git_commit;  // generated at build time (git_commit.cmake)

namespace {

using nlohmann::json;

template <class T>
json value_or_null(const std::optional<T>& value) {
    return value ? json(*value) : json(nullptr);
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
    ctx["date"] = utc_iso8601(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
    system_description system = describe_system();
    ctx["host"] = system.host;
    ctx["os"] = system.os;
    ctx["kernel"] = system.kernel;
    ctx["arch"] = system.arch;
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
    open_file_limits nofile = open_file_limit();
    limits["nofile"] = value_or_null(nofile.soft);
    limits["nofile_hard"] = value_or_null(nofile.hard);
    limits["somaxconn"] = value_or_null(listen_backlog_cap());
    auto ports = ephemeral_ports();
    limits["ip_local_port_range"] = ports ? json{ports->low, ports->high} : json(nullptr);
    ctx["limits"] = std::move(limits);
    return ctx;
}

}  // namespace loadgen
