// The "context" of a results object: what machine, system and build produced it
// (STYLE.md §8: every results file starts with its context).
#include <zlib.h>

#include <boost/version.hpp>
#include <chrono>
#include <sstream>
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

// "0.000012345 seconds fast of NTP time" -> 1.2345e-5; "... slow ..." -> negative.
std::optional<double> seconds_field(const std::string& value) {
    std::istringstream in(value);
    double v = 0;
    std::string unit, direction;
    if (!(in >> v >> unit) || unit != "seconds") return std::nullopt;
    if (in >> direction && direction == "slow") v = -v;
    return v;
}

}  // namespace

json clock_from_chronyc(const std::optional<command_output>& tracking) {
    json clock = {{"source", "chronyc tracking"},
                  {"offset_s", nullptr},
                  {"max_error_s", nullptr},
                  {"leap_status", nullptr},
                  {"reason", nullptr}};
    if (!tracking || tracking->status == 127) {
        clock["reason"] = "chronyc not found (no chrony here: the clock's offset is unknown)";
        return clock;
    }
    std::istringstream lines(tracking->text);
    std::optional<double> offset, delay, dispersion;
    std::string leap;
    for (std::string line; std::getline(lines, line);) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string key = line.substr(0, line.find_last_not_of(' ', colon - 1) + 1);
        std::size_t start = line.find_first_not_of(' ', colon + 1);
        std::string value = start == std::string::npos ? "" : line.substr(start);
        while (!value.empty() && (value.back() == '\r' || value.back() == ' ')) value.pop_back();
        if (key == "System time") offset = seconds_field(value);
        if (key == "Root delay") delay = seconds_field(value);
        if (key == "Root dispersion") dispersion = seconds_field(value);
        if (key == "Leap status") leap = value;
    }
    if (!leap.empty()) clock["leap_status"] = leap;
    std::string first_line = tracking->text.substr(0, tracking->text.find('\n'));
    if (tracking->status != 0 || !offset) {
        clock["reason"] = "chronyc tracking failed (exit " + std::to_string(tracking->status) +
                          "): " + first_line.substr(0, 200);
        return clock;
    }
    if (leap == "Not synchronised") {
        clock["reason"] = "chrony is not synchronised: the offset is unknown";
        return clock;
    }
    clock["offset_s"] = *offset;
    // chrony's own bound on the clock's error: the root dispersion plus half the root delay.
    if (delay && dispersion) clock["max_error_s"] = *dispersion + *delay / 2;
    return clock;
}

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
    // Several generators started together are only as together as their clocks: chrony
    // knows how far this one is off, where it runs. -n: no DNS look-ups.
    ctx["clock"] = clock_from_chronyc(run_command("chronyc -n tracking 2>&1"));
    return ctx;
}

}  // namespace loadgen
