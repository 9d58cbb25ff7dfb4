// The parts of harness/process.hpp that are the same on every OS.
#include "harness/process.hpp"

#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "harness/process_os.hpp"

namespace harness {

std::vector<int> parse_cpu_list(const std::string& text) {
    // Linux's CPU_SETSIZE; Windows' affinity mask has 64 bits, checked where it is built.
    constexpr int most_cpus = 1024;
    std::vector<int> cpus;
    std::istringstream in(text);
    std::string part;
    auto number = [&](const std::string& s) {
        std::size_t used = 0;
        int value = -1;
        try {
            value = std::stoi(s, &used);
        } catch (const std::exception&) {
        }
        if (used != s.size() || value < 0 || value >= most_cpus)
            throw std::invalid_argument("bad CPU list '" + text + "' (expected e.g. 0-3,6)");
        return value;
    };
    while (std::getline(in, part, ',')) {
        auto dash = part.find('-');
        int first = number(part.substr(0, dash));
        int last = dash == std::string::npos ? first : number(part.substr(dash + 1));
        if (last < first) throw std::invalid_argument("bad CPU range '" + part + "'");
        for (int cpu = first; cpu <= last; ++cpu) cpus.push_back(cpu);
    }
    if (cpus.empty()) throw std::invalid_argument("empty CPU list");
    return cpus;
}

std::string format_cpu_list(const std::vector<int>& cpus) {
    std::string out;
    for (std::size_t i = 0; i < cpus.size();) {
        std::size_t j = i;
        while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
        if (!out.empty()) out += ',';
        out += std::to_string(cpus[i]);
        if (j > i) {
            out += '-';
            out += std::to_string(cpus[j]);
        }
        i = j + 1;
    }
    return out;
}

std::string exit_status::describe() const {
    if (code) {
        if (*code == 0) return "ok";
        // Windows reports a crash as an NTSTATUS exit code (0xC0000005: access violation).
        if (*code < 0 || *code > 255) {
            char hex[16];
            std::snprintf(hex, sizeof(hex), "0x%08X", static_cast<unsigned>(*code));
            return std::string("exit ") + hex;
        }
        return "exit " + std::to_string(*code);
    }
    if (signal) return "signal " + signal_name(*signal);
    return "unknown";
}

// The accessors every OS's child_process shares (the rest is in process_<os>.cpp).
const std::string& child_process::pin_error() const {
    return pin_error_;
}

const std::string& child_process::exec_error() const {
    return exec_error_;
}

const std::optional<exit_status>& child_process::exited() const {
    return exit_;
}

}  // namespace harness
