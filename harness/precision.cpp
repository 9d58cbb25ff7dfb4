#include "harness/precision.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "harness/summary.hpp"

namespace harness {

namespace {

// The largest rank j (1-based) with P(Binomial(n, 1/2) < j) <= 2.5 %, or 0 if there is none.
std::size_t lower_rank(std::size_t n) {
    double below = 0;  // P(B < j), growing with j
    double term = std::pow(0.5, static_cast<double>(n));  // P(B = 0)
    std::size_t j = 0;
    for (std::size_t i = 0; i < n; ++i) {
        below += term;  // now P(B <= i) = P(B < i + 1)
        if (below > 0.025) break;
        j = i + 1;
        term = term * static_cast<double>(n - i) / static_cast<double>(i + 1);
    }
    return j;
}

double median_of_sorted(const std::vector<double>& v) {
    std::size_t mid = v.size() / 2;
    return v.size() % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

}  // namespace

median_interval median_with_interval(std::vector<double> values) {
    median_interval m;
    m.n = values.size();
    if (values.empty()) return m;
    std::sort(values.begin(), values.end());
    m.median = median_of_sorted(values);
    std::size_t j = lower_rank(values.size());
    if (j == 0) return m;
    m.low = values[j - 1];
    m.high = values[values.size() - j];
    if (m.median > 0) m.half_width_percent = std::max(m.median - *m.low, *m.high - m.median) / m.median * 100;
    return m;
}

bool cell_precision::within(double percent) const {
    auto tight = [&](const median_interval& m) { return m.half_width_percent && *m.half_width_percent <= percent; };
    return ok > 0 && tight(cpu_us_per_line) && tight(lines_per_s);
}

std::vector<cell_precision> assess(const std::vector<run_config>& runs, const json& recorded_runs) {
    // By cell, not by id: the extra rounds' runs have ids of their own.
    std::map<std::string, std::vector<const json*>> by_cell;
    for (const auto& run : recorded_runs) {
        const std::string id = run.value("id", "");
        auto slash = id.rfind("/rep");
        if (slash != std::string::npos) by_cell[id.substr(0, slash)].push_back(&run);
    }
    std::vector<cell_precision> cells;
    std::set<std::string> seen;
    for (const auto& r : runs) {
        if (!r.server.skip_reason.empty() || !seen.insert(r.cell).second) continue;
        cell_precision c;
        c.cell = r.cell;
        std::vector<double> cpu, lps;
        for (const json* run : by_cell[r.cell]) {
            ++c.repetitions;
            c.last_repetition = std::max(c.last_repetition, run->at("config").value("repetition", 0));
            if (run->value("status", "") != "ok") continue;
            ++c.ok;
            if (auto v = number_at(*run, {"server", "cpu_us_per_line"})) cpu.push_back(*v);
            if (auto v = number_at(*run, {"summary", "requests_per_sec"})) lps.push_back(*v);
        }
        c.cpu_us_per_line = median_with_interval(cpu);
        c.lines_per_s = median_with_interval(lps);
        cells.push_back(std::move(c));
    }
    return cells;
}

std::vector<run_config> next_round(const std::vector<run_config>& runs, const std::vector<cell_precision>& cells,
                                   double percent, std::uint64_t seed) {
    std::vector<run_config> round;
    for (const auto& c : cells) {
        if (c.ok == 0 || c.within(percent)) continue;
        auto first = std::find_if(runs.begin(), runs.end(), [&](const run_config& r) { return r.cell == c.cell; });
        run_config next = *first;
        next.repetition = c.last_repetition + 1;
        next.id = c.cell + "/rep" + std::to_string(next.repetition);
        round.push_back(std::move(next));
    }
    // One round of equal repetitions: interleave() shuffles within it.
    return interleave(std::move(round), seed);
}

namespace {

json interval_json(const median_interval& m) {
    auto value = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
    return {{"n", m.n},
            {"median", m.n ? json(m.median) : json(nullptr)},
            {"low", value(m.low)},
            {"high", value(m.high)},
            {"half_width_percent", value(m.half_width_percent)}};
}

}  // namespace

json precision_json(const std::vector<cell_precision>& cells, double percent, double budget_s, double spent_s,
                    int rounds, const std::string& stopped) {
    json list = json::array();
    for (const auto& c : cells)
        list.push_back({{"cell", c.cell},
                        {"repetitions", c.repetitions},
                        {"ok", c.ok},
                        {"cpu_us_per_line", interval_json(c.cpu_us_per_line)},
                        {"lines_per_s", interval_json(c.lines_per_s)},
                        {"within_target", c.within(percent)}});
    return {{"target_percent", percent},
            {"budget_s", budget_s},
            {"spent_s", spent_s},
            {"extra_rounds", rounds},
            {"stopped", stopped},
            {"method", "distribution-free 95% interval of the median from order statistics (n >= 6)"},
            {"configurations", list}};
}

std::string describe(const cell_precision& c) {
    auto reach = [](const median_interval& m) {
        if (!m.half_width_percent) return std::string(m.n < 6 ? "no interval yet (n < 6)" : "-");
        char text[32];
        std::snprintf(text, sizeof(text), "±%.1f %%", *m.half_width_percent);
        return std::string(text);
    };
    return c.cell + ": " + std::to_string(c.ok) + " ok of " + std::to_string(c.repetitions) + " runs, CPU/line " +
           reach(c.cpu_us_per_line) + ", lines/s " + reach(c.lines_per_s);
}

}  // namespace harness
