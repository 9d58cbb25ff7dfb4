#include "harness/context.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "harness/build_info.hpp"
#include "harness/process.hpp"
#include "loadgen/platform.hpp"
#include "loadgen/results.hpp"
#include "loadgen/utc_time.hpp"

namespace harness {

namespace {

std::string read_first_line(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

// The value of `key` in a "key : value" or key="value" file (/proc/cpuinfo, os-release).
std::string find_value(const std::string& path, const std::string& key, char separator) {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
        auto at = line.find(separator);
        if (at == std::string::npos) continue;
        std::string name = line.substr(0, at);
        name.erase(name.find_last_not_of(" \t") + 1);
        if (name != key) continue;
        std::string value = line.substr(at + 1);
        value.erase(0, value.find_first_not_of(" \t\""));
        value.erase(value.find_last_not_of(" \t\"") + 1);
        return value;
    }
    return "";
}

std::string or_unknown(const std::string& value, const char* why = "unknown") {
    return value.empty() ? why : value;
}

}  // namespace

std::string utc_now() {
    return loadgen::utc_iso8601(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
}

limits raise_and_read_limits() {
    // The load generator's library asks the OS (getrlimit, /proc or sysctl; on Windows there
    // is no limit on open files and the figures stay unknown, -1).
    loadgen::raise_open_file_limit();
    limits lim;
    auto nofile = loadgen::open_file_limit();
    if (nofile.soft) lim.nofile_soft = static_cast<long>(*nofile.soft);
    if (nofile.hard) lim.nofile_hard = static_cast<long>(*nofile.hard);
    lim.somaxconn = loadgen::listen_backlog_cap().value_or(-1);
    if (auto ports = loadgen::ephemeral_ports()) {
        lim.port_first = static_cast<int>(ports->low);
        lim.port_last = static_cast<int>(ports->high);
    }
    return lim;
}

pinning choose_pinning(const std::string& server_cpus, const std::string& load_cpus) {
    pinning pins;
    if (!can_pin_cpus()) {
        if (!server_cpus.empty() || !load_cpus.empty())
            throw std::invalid_argument("--server-cpus and --load-cpus cannot be kept here: " + pinning_method());
        pins.note = "not pinned: " + pinning_method();
        return pins;
    }
    std::vector<int> allowed = allowed_cpus();
    if (!server_cpus.empty() || !load_cpus.empty()) {
        if (!server_cpus.empty()) pins.server_cpus = parse_cpu_list(server_cpus);
        if (!load_cpus.empty()) pins.load_cpus = parse_cpu_list(load_cpus);
        for (const auto* list : {&pins.server_cpus, &pins.load_cpus})
            for (int cpu : *list)
                if (std::find(allowed.begin(), allowed.end(), cpu) == allowed.end())
                    throw std::invalid_argument("CPU " + std::to_string(cpu) +
                                                " is not one this process may use (" +
                                                format_cpu_list(allowed) + ")");
        pins.note = "given on the command line";
        return pins;
    }
    if (allowed.size() < 2) {
        pins.note = "not pinned: only " + std::to_string(allowed.size()) +
                    " CPU allowed, server and load generator share it";
        return pins;
    }
    std::size_t half = allowed.size() / 2;
    pins.server_cpus.assign(allowed.begin(), allowed.begin() + static_cast<std::ptrdiff_t>(half));
    pins.load_cpus.assign(allowed.begin() + static_cast<std::ptrdiff_t>(half), allowed.end());
    pins.note = "default: the allowed CPUs " + format_cpu_list(allowed) + " split in two";
    return pins;
}

std::vector<std::string> preflight(const std::vector<run_config>& runs, const limits& lim,
                                   bool source_given) {
    std::vector<std::string> warnings;
    int most = 0;
    std::string where;
    for (const auto& r : runs) {
        int total = r.load.connections + r.load.idle;
        if (total > most) {
            most = total;
            where = r.cell;
        }
    }
    // Each side holds one descriptor per connection plus a few of its own.
    constexpr int spare_fds = 64;
    if (lim.nofile_soft >= 0 && most + spare_fds > lim.nofile_soft)
        warnings.push_back(
            "the suite opens up to " + std::to_string(most) + " connections (" + where +
            ") but the open-files limit is " + std::to_string(lim.nofile_soft) + " (hard limit " +
            std::to_string(lim.nofile_hard) +
            "): those runs will fail; raise the hard limit (ulimit -Hn, /etc/security/limits.conf)");
    if (lim.port_first > 0 && lim.port_last >= lim.port_first) {
        int ports = lim.port_last - lim.port_first + 1;
        if (most > ports && !source_given)
            warnings.push_back(
                "the suite opens up to " + std::to_string(most) + " connections (" + where +
                ") but one source address has only " + std::to_string(ports) + " ephemeral ports (" +
                std::to_string(lim.port_first) + "-" + std::to_string(lim.port_last) +
                "): pass --source 127.0.0.1-127.0.0.8 to spread connections over several addresses");
    }
    if (lim.somaxconn > 0 && most > lim.somaxconn)
        warnings.push_back("net.core.somaxconn is " + std::to_string(lim.somaxconn) + ", below the " +
                           std::to_string(most) + " connections of " + where +
                           ": bursts of connects may be dropped and retried (slower ramp-up)");
    return warnings;
}

json collect_context(const variant_table& variants, const limits& lim, const pinning& pins,
                     const std::vector<std::string>& warnings) {
    // The machine facts (date, host, kernel, arch, CPU model, cores, compiler, build type,
    // the commit the binaries were built from) are collected once, by the load generator's
    // library, which writes them into every rot13-load result too. What only a suite
    // knows is added here: the distribution's name, the CPU governor, the flags and
    // library versions of this build, the limits it checked and the pinning it chose.
    json ctx = loadgen::collect_context();
    ctx.erase("allowed_cpus");      // replaced by cpus_allowed, a CPU list
    ctx.erase("library_versions");  // replaced by libraries, with libevent and liburing
    // os-release names the distribution on Linux and FreeBSD. On Windows the path would be
    // read from the current drive, which under Wine is the Linux host's root: not asked there.
    const std::string kernel_name = ctx.value("os", "unknown");
    std::string governor = "unknown (no cpufreq: a VM or container?)";
    if (kernel_name != "Windows") {
        ctx["os"] = or_unknown(find_value("/etc/os-release", "PRETTY_NAME", '='), kernel_name.c_str());
        governor = or_unknown(read_first_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
                              governor.c_str());
    } else {
        governor = "unknown (Windows: its power plan decides)";
    }
    ctx["cpus_allowed"] = format_cpu_list(allowed_cpus());
    ctx["governor"] = governor;
    ctx["compiler_flags"] = build_info::cxx_flags;
    ctx["libraries"] = {{"libevent", or_unknown(build_info::libevent_version, "not found")},
                        {"boost", or_unknown(build_info::boost_version, "not found")},
                        {"liburing", or_unknown(build_info::liburing_version, "not found")},
                        {"libkqueue", or_unknown(build_info::libkqueue_version, "not used")},
                        {"nlohmann_json", or_unknown(build_info::nlohmann_json_version)}};
    ctx["rot13bench_version"] = build_info::project_version;
    ctx["limits"] = {{"nofile_soft", lim.nofile_soft},
                     {"nofile_hard", lim.nofile_hard},
                     {"somaxconn", lim.somaxconn},
                     {"port_range", {lim.port_first, lim.port_last}}};
    ctx["pinning"] = {
        {"server_cpus", pins.server_cpus.empty() ? json(nullptr) : json(format_cpu_list(pins.server_cpus))},
        {"load_cpus", pins.load_cpus.empty() ? json(nullptr) : json(format_cpu_list(pins.load_cpus))},
        {"method", pinning_method()},
        {"note", pins.note}};
    json list = json::array();
    for (const auto& v : variants.variants) {
        json entry = {{"name", v.name}, {"built", v.built}, {"backends", v.backends}};
        if (v.built) {
            entry["cap"] = v.cap.empty() ? json(nullptr) : json(v.cap);
            entry["note"] = v.note.empty() ? json(nullptr) : json(v.note);
        } else {
            entry["reason"] = v.reason;
        }
        list.push_back(std::move(entry));
    }
    ctx["variants"] = std::move(list);
    ctx["warnings"] = warnings;
    return ctx;
}

}  // namespace harness
