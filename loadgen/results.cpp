#include "loadgen/results.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "loadgen/platform.hpp"

namespace loadgen {

using nlohmann::json;

json errors_json(const error_counts& e) {
    return {{"connect", e.connect},         {"refused", e.refused}, {"reset", e.reset},
            {"closed", e.closed},           {"timeout", e.timeout}, {"mismatch", e.mismatch},
            {"short_reply", e.short_reply}, {"other", e.other},     {"total", e.total()}};
}

double error_rate(std::uint64_t errors, std::uint64_t requests) {
    return errors == 0 ? 0.0 : static_cast<double>(errors) / static_cast<double>(requests + errors);
}

namespace {

std::string format_ms(std::int64_t ns) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.3f ms", static_cast<double>(ns) / 1e6);
    return buf;
}

json timeseries_json(const std::vector<second_summary>& seconds) {
    json out = json::array();
    for (const second_summary& s : seconds)
        out.push_back(
            {{"t", s.t_s},
             {"interval_s", s.length_s},
             {"requests", s.requests},
             {"requests_per_sec", s.length_s > 0 ? static_cast<double>(s.requests) / s.length_s : 0.0},
             {"p50", s.p50},
             {"p99", s.p99},
             {"max", s.max},
             {"errors", s.errors}});
    return out;
}

}  // namespace

std::string error_breakdown(const error_counts& e) {
    std::string out;
    auto add = [&](const char* name, std::uint64_t n) {
        if (n == 0) return;
        if (!out.empty()) out += ", ";
        out += std::string(name) + " " + std::to_string(n);
    };
    add("connect", e.connect);
    add("refused", e.refused);
    add("reset", e.reset);
    add("closed", e.closed);
    add("timeout", e.timeout);
    add("mismatch", e.mismatch);
    add("short reply", e.short_reply);
    add("other", e.other);
    return out;
}

verdict judge(const run_result& r, const options& opts) {
    std::vector<std::string> broken;
    if (!r.fatal.empty()) broken.push_back(r.fatal);
    if (std::uint64_t v = r.errors.validation_failures(); v > 0)
        broken.push_back(std::to_string(v) + " validation failure" + (v == 1 ? "" : "s") + " (mismatch " +
                         std::to_string(r.errors.mismatch) + ", short reply " +
                         std::to_string(r.errors.short_reply) + ")");
    double rate = error_rate(r.errors.total(), r.requests);
    if (r.errors.total() > 0 && rate > opts.max_error_rate) {
        char buf[160];
        std::snprintf(buf, sizeof(buf), "error rate %.6f exceeds --max-error-rate %g (", rate,
                      opts.max_error_rate);
        broken.push_back(buf + error_breakdown(r.errors) + ")");
    }
    if (opts.max_p99_ms >= 0 && r.corrected.count() > 0 &&
        static_cast<double>(r.corrected.value_at_percentile(99)) > opts.max_p99_ms * 1e6) {
        char buf[64];
        std::snprintf(buf, sizeof(buf), " exceeds --max-p99-ms %g", opts.max_p99_ms);
        broken.push_back("corrected p99 " + format_ms(r.corrected.value_at_percentile(99)) + buf);
    }
    if (r.starved_connections > 0)
        broken.push_back(std::to_string(r.starved_connections) + " of " +
                         std::to_string(r.connections_established) +
                         " connections got no reply in the whole window (the server served fewer "
                         "connections at once than the load opened)");
    if (r.fatal.empty() && r.requests == 0 && r.measured_s > 0)
        broken.push_back("no line was answered in the window");

    verdict v;
    v.ok = broken.empty();
    for (const auto& b : broken) v.reason += (v.reason.empty() ? "" : "; ") + b;
    if (!r.interrupted_by.empty()) {
        char buf[96];
        std::snprintf(buf, sizeof(buf), "interrupted by %s after %.3f s of the window",
                      r.interrupted_by.c_str(), r.measured_s);
        v.reason += (v.reason.empty() ? "" : "; ") + std::string(buf);
    }
    return v;
}

json histogram_to_json(const histogram& h) {
    json buckets = json::array();
    std::size_t end = h.count() ? h.index_of(h.max()) + 1 : 0;
    for (std::size_t i = 0; i < end; ++i)
        if (std::int64_t n = h.count_at_index(i)) buckets.push_back({h.value_at_index(i), n});
    return {{"unit", "ns"},
            {"lowest_discernible", h.lowest_discernible()},
            {"highest_trackable", h.highest_trackable()},
            {"significant_digits", h.significant_digits()},
            {"count", h.count()},
            {"min", h.min()},
            {"max", h.max()},
            {"buckets", std::move(buckets)}};
}

std::string results_text(const json& results) {
    return results.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::int64_t integer_value(const json& v, const std::string& key, std::int64_t min, std::int64_t max) {
    bool ok = false;
    std::int64_t out = 0;
    if (v.is_number_unsigned()) {
        ok = v.get<std::uint64_t>() <= static_cast<std::uint64_t>(INT64_MAX);
        if (ok) out = static_cast<std::int64_t>(v.get<std::uint64_t>());
    } else if (v.is_number_integer()) {
        ok = true;
        out = v.get<std::int64_t>();
    } else if (v.is_number_float()) {
        // Within +-2^63 exactly: the comparison is made in double, where 2^63 is exact.
        const double d = v.get<double>();
        ok = d == std::floor(d) && d >= -0x1p63 && d < 0x1p63;
        if (ok) out = static_cast<std::int64_t>(d);
    }
    if (!ok || out < min || out > max) {
        std::string shown = v.dump(-1, ' ', false, json::error_handler_t::replace);
        if (shown.size() > 40) shown = shown.substr(0, 37) + "...";
        throw bad_results_value(key + ": expected an integer from " + std::to_string(min) + " to " +
                                std::to_string(max) + ", got " + shown);
    }
    return out;
}

histogram histogram_from_json(const json& j) {
    auto field = [&](const char* key, std::int64_t fallback, std::int64_t min, std::int64_t max) {
        return j.contains(key) ? integer_value(j.at(key), key, min, max) : fallback;
    };
    histogram h(field("lowest_discernible", histogram::default_lowest, 1, INT64_MAX),
                field("highest_trackable", histogram::default_highest, 2, INT64_MAX),
                static_cast<int>(field("significant_digits", histogram::default_digits, 1, 5)));
    std::int64_t total = 0;
    for (const auto& b : j.at("buckets")) {
        std::int64_t value = integer_value(b.at(0), "buckets[][0]", 0, h.highest_trackable());
        std::int64_t n = integer_value(b.at(1), "buckets[][1]", 0, INT64_MAX);
        if (n > INT64_MAX - total) throw bad_results_value("buckets: the counts add up to more than 2^63");
        total += n;
        h.add_at_index(h.index_of(value), n);
    }
    h.include_extremes(field("min", h.min(), INT64_MIN, INT64_MAX),
                       field("max", h.max(), INT64_MIN, INT64_MAX));
    return h;
}

json latency_summary(const histogram& h) {
    return {{"count", h.count()},
            {"min", h.min()},
            {"p50", h.value_at_percentile(50)},
            {"p75", h.value_at_percentile(75)},
            {"p90", h.value_at_percentile(90)},
            {"p99", h.value_at_percentile(99)},
            {"p999", h.value_at_percentile(99.9)},
            {"p9999", h.value_at_percentile(99.99)},
            {"max", h.max()},
            {"mean", std::round(h.mean())}};
}

json to_json(const run_result& r, const options& opts, const verdict& v, const json& context) {
    json config = {
        {"host", opts.host},
        {"port", opts.port},
        {"mode", opts.open_loop() ? "open" : "closed"},
        {"connections", opts.connections},
        {"idle", opts.idle},
        {"depth", opts.effective_depth()},
        {"rate", opts.rate},
        {"arrivals", opts.arrivals == arrival_process::poisson ? "poisson" : "uniform"},
        {"spin_us", opts.spin_us},
        {"size", opts.size},
        {"seed", opts.seed},
        {"duration_s", opts.duration_s},
        {"warmup_s", opts.warmup_s},
        {"timeout_s", opts.timeout_s},
        {"connect_rate", opts.connect_rate},
        {"source", opts.source},
        {"threads", r.threads},
        {"max_p99_ms", opts.max_p99_ms >= 0 ? json(opts.max_p99_ms) : json(nullptr)},
        {"max_error_rate", opts.max_error_rate},
        {"json", opts.json_path},
        {"hdr_log", opts.hdr_log_path},
        {"start_at_epoch_s", opts.start_at_epoch_s > 0 ? json(opts.start_at_epoch_s) : json(nullptr)},
        {"label", opts.label.empty() ? context.value("host", "") : opts.label},
    };
    auto epoch_or_null = [](double epoch_s) { return epoch_s > 0 ? json(epoch_s) : json(nullptr); };
    json mismatches = json::array();
    for (const auto& m : r.mismatches)
        mismatches.push_back({{"connection", m.connection},
                              {"line", m.line},
                              {"offset", m.offset},
                              {"expected", m.expected},
                              {"received", m.received}});
    json summary = {
        {"requests", r.requests},
        {"requests_per_sec", r.measured_s > 0 ? static_cast<double>(r.requests) / r.measured_s : 0.0},
        {"bytes_sent", r.bytes_sent},
        {"bytes_received", r.bytes_received},
        {"duration_s", r.measured_s},
        {"window_start_epoch_s", epoch_or_null(r.start_epoch_s)},
        {"traffic_start_epoch_s", epoch_or_null(r.traffic_start_epoch_s)},
        {"start_late_s", opts.start_at_epoch_s > 0 ? json(r.start_late_s) : json(nullptr)},
        {"ramp_up_s", r.ramp_up_s},
        {"connections",
         {{"requested", opts.connections},
          {"established", r.connections_established},
          {"idle_requested", opts.idle},
          {"idle_established", r.idle_established}}},
        {"errors", errors_json(r.errors)},
        {"error_rate", error_rate(r.errors.total(), r.requests)},
        {"validation_failures", r.errors.validation_failures()},
        {"unfinished", r.unfinished},
        {"starved_connections", r.starved_connections},
        {"mismatches", std::move(mismatches)},
        {"latency_ns",
         {{"corrected", latency_summary(r.corrected)},
          {"uncorrected", latency_summary(r.uncorrected)},
          {"connect", latency_summary(r.connect)}}},
    };
    // CPU time of the whole process (ramp-up and drain included), as the harness measures
    // the server's; the window_ figures cover the measured window only.
    cpu_times cpu = process_cpu_times();
    json loadgen = {
        {"cpu_user_s", cpu.user},
        {"cpu_sys_s", cpu.sys},
        {"threads", r.threads},
        {"window_cpu_user_s", r.window_cpu_user_s},
        {"window_cpu_sys_s", r.window_cpu_sys_s},
        {"peak_rss_kb", peak_rss_kb()},
        {"baseline_rss_kb", r.baseline_rss_kb},
        {"send_lag_ns", latency_summary(r.send_lag)},
    };
    return {
        {"schema_version", schema_version},
        {"tool", "rot13-load"},
        {"context", context},
        {"config", std::move(config)},
        {"summary", std::move(summary)},
        {"histograms",
         {{"corrected", histogram_to_json(r.corrected)},
          {"uncorrected", histogram_to_json(r.uncorrected)},
          {"connect", histogram_to_json(r.connect)},
          {"send_lag", histogram_to_json(r.send_lag)}}},
        {"timeseries", timeseries_json(r.timeseries)},
        {"loadgen", std::move(loadgen)},
        {"status", v.ok ? "ok" : "failed"},
        {"reason", v.reason},
    };
}

}  // namespace loadgen
