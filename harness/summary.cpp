#include "harness/summary.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>

namespace harness {

std::string format_count(double value) {
    std::string digits = std::to_string(static_cast<long long>(std::llround(value)));
    std::string out;
    int n = 0;
    for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
        if (n && n % 3 == 0 && *it != '-') out.insert(out.begin(), ',');
        out.insert(out.begin(), *it);
        ++n;
    }
    return out;
}

std::string format_latency_ns(double ns) {
    char buf[32];
    if (ns < 1e3)
        std::snprintf(buf, sizeof(buf), "%.0f ns", ns);
    else if (ns < 1e4)
        std::snprintf(buf, sizeof(buf), "%.2f µs", ns / 1e3);
    else if (ns < 1e6)
        std::snprintf(buf, sizeof(buf), "%.0f µs", ns / 1e3);
    else if (ns < 1e7)
        std::snprintf(buf, sizeof(buf), "%.2f ms", ns / 1e6);
    else if (ns < 1e9)
        std::snprintf(buf, sizeof(buf), "%.0f ms", ns / 1e6);
    else
        std::snprintf(buf, sizeof(buf), "%.2f s", ns / 1e9);
    return buf;
}

std::string format_duration(double seconds) {
    long s = std::lround(std::max(0.0, seconds));
    char buf[32];
    if (s >= 3600)
        std::snprintf(buf, sizeof(buf), "%ldh%02ldm", s / 3600, s / 60 % 60);
    else if (s >= 60)
        std::snprintf(buf, sizeof(buf), "%ldm%02lds", s / 60, s % 60);
    else
        std::snprintf(buf, sizeof(buf), "%lds", s);
    return buf;
}

// summary.requests_per_sec, summary.latency_ns.corrected.p99, server.cpu_us_per_line.
std::optional<double> number_at(const json& run, std::initializer_list<const char*> path) {
    const json* at = &run;
    for (const char* key : path) {
        if (!at->is_object() || !at->contains(key)) return std::nullopt;
        at = &(*at)[key];
    }
    if (!at->is_number()) return std::nullopt;
    return at->get<double>();
}

namespace {

std::optional<double> median(std::vector<double> values) {
    if (values.empty()) return std::nullopt;
    std::sort(values.begin(), values.end());
    std::size_t mid = values.size() / 2;
    return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

std::string short_reason(const json& run) {
    std::string reason = run.value("reason", json("")).is_string() ? run["reason"].get<std::string>() : "";
    return reason.size() > 60 ? reason.substr(0, 57) + "..." : reason;
}

// Columns are padded by characters on screen, not bytes ("µ" is two bytes).
std::size_t display_width(const std::string& text) {
    return static_cast<std::size_t>(std::count_if(
        text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

}  // namespace

std::string run_outcome(const json& run) {
    std::string status = run.value("status", "");
    if (status == "skipped") return "skipped: " + short_reason(run);
    if (status != "ok") return "FAILED: " + short_reason(run);
    std::string text;
    if (auto rate = number_at(run, {"summary", "requests_per_sec"})) text += format_count(*rate) + " lines/s";
    if (auto p99 = number_at(run, {"summary", "latency_ns", "corrected", "p99"}))
        text += " p99 " + format_latency_ns(*p99);
    return text.empty() ? "ok" : text;
}

void print_summary_table(std::ostream& out, const std::vector<run_config>& suite_order, const json& runs) {
    std::map<std::string, const json*> by_id;
    for (const auto& run : runs) by_id[run.value("id", "")] = &run;

    std::vector<std::vector<std::string>> rows{
        {"server", "load", "runs ok", "lines/s", "p99", "server CPU µs/line", "load CPU", "status"}};
    for (std::size_t i = 0; i < suite_order.size();) {
        // The repetitions of one cell are next to each other in suite order.
        const run_config& first = suite_order[i];
        std::vector<double> rates, p99s, cpu, load_busy;
        int ok = 0, total = 0;
        std::vector<std::string> problems;
        for (; i < suite_order.size() && suite_order[i].cell == first.cell; ++i) {
            auto found = by_id.find(suite_order[i].id);
            if (found == by_id.end()) continue;
            const json& run = *found->second;
            ++total;
            std::string status = run.value("status", "");
            if (status != "ok") {
                problems.push_back((status == "skipped" ? "skipped: " : "failed: ") + short_reason(run));
                continue;
            }
            ++ok;
            if (auto v = number_at(run, {"summary", "requests_per_sec"})) rates.push_back(*v);
            if (auto v = number_at(run, {"summary", "latency_ns", "corrected", "p99"})) p99s.push_back(*v);
            if (auto v = number_at(run, {"server", "cpu_us_per_line"})) cpu.push_back(*v);
            // How busy rot13-load's threads were in the window: near 100%, the client may be
            // what limits the figure.
            auto user = number_at(run, {"loadgen", "window_cpu_user_s"}),
                 sys = number_at(run, {"loadgen", "window_cpu_sys_s"});
            auto window = number_at(run, {"summary", "duration_s"}),
                 threads = number_at(run, {"loadgen", "threads"});
            if (user && sys && window && *window > 0)
                load_busy.push_back((*user + *sys) / *window / std::max(1.0, threads.value_or(1)) * 100);
        }
        if (total == 0) continue;  // not run yet (an interrupted suite)
        std::string server = shown_name(first.server);
        auto rate = median(rates), p99 = median(p99s), us = median(cpu), busy = median(load_busy);
        char cpu_text[32] = "-";
        if (us) std::snprintf(cpu_text, sizeof(cpu_text), "%.2f", *us);
        std::string status = problems.empty() ? "ok" : problems.front();
        std::size_t others = static_cast<std::size_t>(std::count_if(
            problems.begin(), problems.end(), [&](const std::string& p) { return p != problems.front(); }));
        if (others) status += " (+" + std::to_string(others) + " other)";
        rows.push_back({server, describe_load(first.load), std::to_string(ok) + "/" + std::to_string(total),
                        rate ? format_count(*rate) : "-", p99 ? format_latency_ns(*p99) : "-", cpu_text,
                        busy ? format_count(*busy) + "%" : "-", status});
    }

    std::vector<std::size_t> widths(rows.front().size(), 0);
    for (const auto& row : rows)
        for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], display_width(row[c]));
    for (std::size_t r = 0; r < rows.size(); ++r) {
        std::string line;
        for (std::size_t c = 0; c < rows[r].size(); ++c) {
            const std::string& cell = rows[r][c];
            std::string pad(widths[c] - display_width(cell), ' ');
            bool numeric = c >= 2 && c <= 6;  // right-aligned
            if (c) line += "  ";
            line += c + 1 == rows[r].size() ? cell : (numeric ? pad + cell : cell + pad);
        }
        out << line << '\n';
        if (r == 0) {
            std::size_t total = 0;
            for (auto w : widths) total += w + 2;
            out << std::string(total - 2, '-') << '\n';
        }
    }
}

}  // namespace harness
