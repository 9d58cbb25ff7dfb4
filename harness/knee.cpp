#include "harness/knee.hpp"

#include <cmath>
#include <cstdio>
#include <iostream>

#include "harness/summary.hpp"

namespace harness {

namespace {

struct probe_outcome {
    double rate = 0;
    bool passed = false;
    json record;  // the probe's whole run
};

// One probe at `rate`: the knee run as an open-loop run at that rate.
std::optional<probe_outcome> probe(const run_config& knee_run, double rate, const run_options& opts) {
    run_config r = knee_run;
    r.load.mode = "open";
    r.load.rate = std::round(rate);
    r.load.knee.reset();
    r.id = knee_run.id + "/rate" + format_number(*r.load.rate);
    std::optional<json> record = execute_run(r, opts);
    if (!record) return std::nullopt;
    probe_outcome out;
    out.rate = *r.load.rate;
    out.record = std::move(*record);
    const double target_ns = knee_run.load.knee->p99_ms * 1e6;
    auto p99 = number_at(out.record, {"summary", "latency_ns", "corrected", "p99"});
    auto delivered = number_at(out.record, {"summary", "requests_per_sec"});
    out.passed = out.record["status"] == "ok" && p99 && *p99 <= target_ns && delivered &&
                 *delivered >= 0.95 * out.rate;
    char line[160];
    std::snprintf(line, sizeof(line), "\n    knee probe %s lines/s: p99 %s, %s lines/s delivered: %s",
                  format_number(out.rate).c_str(), p99 ? (format_number(std::round(*p99 / 1000)) + " us").c_str() : "-",
                  delivered ? format_number(std::round(*delivered)).c_str() : "-", out.passed ? "under" : "over");
    std::cerr << line << std::flush;
    return out;
}

json probe_json(const probe_outcome& p) {
    const json& r = p.record;
    auto value = [&](std::initializer_list<const char*> path) {
        auto v = number_at(r, path);
        return v ? json(*v) : json(nullptr);
    };
    return {{"rate", p.rate},
            {"passed", p.passed},
            {"status", r["status"]},
            {"reason", r["reason"]},
            {"p99_ns", value({"summary", "latency_ns", "corrected", "p99"})},
            {"lines_per_s", value({"summary", "requests_per_sec"})},
            {"cpu_us_per_line", value({"server", "cpu_us_per_line"})}};
}

}  // namespace

std::optional<json> execute_knee(const run_config& run, const run_options& opts) {
    if (!run.server.skip_reason.empty()) return skipped_run(run, run.server.skip_reason);
    const knee_search& k = *run.load.knee;
    std::vector<probe_outcome> probes;
    std::optional<probe_outcome> best;  // the highest passing probe
    std::optional<double> lowest_fail;
    auto try_rate = [&](double rate) -> std::optional<bool> {
        auto p = probe(run, rate, opts);
        if (!p) return std::nullopt;
        probes.push_back(*p);
        if (p->passed && (!best || p->rate > best->rate)) best = *p;
        if (!p->passed && (!lowest_fail || p->rate < *lowest_fail)) lowest_fail = p->rate;
        return p->passed;
    };

    // 1. Bracket: double while passing, or halve while failing.
    double rate = k.start_rate;
    auto first = try_rate(rate);
    if (!first) return std::nullopt;
    if (*first) {
        while (!lowest_fail && rate < k.max_rate) {
            rate = std::min(rate * 2, k.max_rate);
            if (!try_rate(rate)) return std::nullopt;
        }
    } else {
        while (!best && rate > k.start_rate / 64) {
            rate /= 2;
            if (!try_rate(rate)) return std::nullopt;
        }
    }
    // 2. Bisect between them.
    while (best && lowest_fail && *lowest_fail > best->rate * (1 + k.tolerance)) {
        if (!try_rate((best->rate + *lowest_fail) / 2)) return std::nullopt;
    }

    json record = best ? best->record : probes.front().record;
    record["id"] = run.id;
    record["config"] = run_config_json(run);
    json list = json::array();
    for (const auto& p : probes) list.push_back(probe_json(p));
    record["knee"] = {{"p99_ms", k.p99_ms},
                      {"rate", best ? json(best->rate) : json(nullptr)},
                      {"upper", lowest_fail ? json(*lowest_fail) : json(nullptr)},
                      {"tolerance", k.tolerance},
                      {"probes", list}};
    if (!best) {
        record["status"] = "failed";
        record["reason"] = "knee: no rate from " + format_number(k.start_rate) + " down to " +
                           format_number(std::round(rate)) + " lines/s kept the corrected p99 under " +
                           format_number(k.p99_ms) + " ms with no errors";
    }
    std::cerr << "\n    knee: " << (best ? format_number(best->rate) + " lines/s" : std::string("none")) << "  ";
    return record;
}

}  // namespace harness
