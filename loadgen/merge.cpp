// rot13-load merge: results of several generators that loaded one server at the same time,
// added up exactly. The steps:
//   1. check that the inputs are one experiment (same target, mode, line size, depth or
//      rate per generator; windows that overlap by at least 95 %), else refuse and say why;
//   2. add the histograms bucket by bucket, so that every merged percentile is exact;
//   3. sum the counts, and take the rate over the common window, the time during which
//      every generator was measuring;
//   4. line the per-second series up by wall-clock time, not by position;
//   5. report how far apart the generators started.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>

#include "loadgen/results.hpp"

namespace loadgen {

using nlohmann::json;

namespace {

// One input and what the checks and the alignment need of it.
struct input {
    const json* run;
    std::string name;   // the file name, for messages
    std::string label;  // config.label, else the host
    double start = 0;   // summary.window_start_epoch_s; 0 when it is missing
    double duration = 0;
    double end() const { return start + duration; }
};

// The integers of an input, checked (bad_results_value) before they are converted: an
// absent or null key is the fallback.
std::int64_t integer_at(const json& j, const char* key, std::int64_t fallback, std::int64_t min = INT64_MIN,
                        std::int64_t max = INT64_MAX) {
    const json v = j.value(key, json(nullptr));
    return v.is_null() ? fallback : integer_value(v, key, min, max);
}

// A count: an integer from 0 to 2^63 - 1; 0 when absent.
std::uint64_t count(const json& j, const char* key) {
    return static_cast<std::uint64_t>(integer_at(j, key, 0, 0));
}

std::string describe_target(const json& config) {
    return config.value("host", "?") + ":" + std::to_string(integer_at(config, "port", 0, 0, 65535));
}

std::string number_text(double v) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.6g", v);
    return text;
}

// Step 1. Each mismatch is one sentence naming the setting and the inputs that differ.
std::vector<std::string> mismatches(const std::vector<input>& in) {
    std::vector<std::string> out;
    const input& a = in.front();
    const json& ca = a.run->at("config");
    // One setting that must agree: the first input that disagrees with the first one.
    auto compare = [&](const char* what, auto value_of) {
        for (const input& b : in) {
            std::string va = value_of(ca), vb = value_of(b.run->at("config"));
            if (va != vb) {
                out.push_back(std::string(what) + " differs: " + a.name + " " + va + ", " + b.name + " " +
                              vb);
                return;
            }
        }
    };
    compare("target", describe_target);
    compare("mode", [](const json& c) { return c.value("mode", "?"); });
    compare("line size", [](const json& c) { return std::to_string(count(c, "size")); });
    if (ca.value("mode", "") == "open")
        compare("rate per generator",
                [](const json& c) { return number_text(c.value("rate", 0.0)) + " lines/s"; });
    else
        compare("depth", [](const json& c) { return std::to_string(count(c, "depth")); });

    for (const input& i : in)
        if (i.start <= 0) {
            out.push_back(i.name +
                          " has no summary.window_start_epoch_s (written by an older rot13-load, or "
                          "its window never opened): it cannot be lined up with the others");
            return out;
        }
    double common_start = 0, common_end = INFINITY, longest = 0;
    for (const input& i : in) {
        common_start = std::max(common_start, i.start);
        common_end = std::min(common_end, i.end());
        longest = std::max(longest, i.duration);
    }
    double overlap = longest > 0 ? std::max(0.0, common_end - common_start) / longest : 0;
    if (overlap < 0.95) {
        char text[64];
        std::snprintf(text, sizeof(text),
                      "windows overlap by only %.1f %% (at least 95 %% needed):", overlap * 100);
        std::string line = text;
        for (const input& i : in) {
            std::snprintf(text, sizeof(text), " %.3f s from %.3f", i.duration, i.start);
            line += " " + i.name + text + (&i == &in.back() ? "" : ",");
        }
        out.push_back(line + " (epoch seconds)");
    }
    return out;
}

// The requests of one input whose second fell in [from, to), taking a second that lies
// partly inside pro rata. Without a time series, the whole window at an even rate.
double requests_between(const input& i, double from, double to) {
    auto share = [&](double start, double length) {
        if (length <= 0) return 0.0;
        return std::clamp((std::min(to, start + length) - std::max(from, start)) / length, 0.0, 1.0);
    };
    const json& ts = i.run->value("timeseries", json::array());
    if (ts.empty()) return share(i.start, i.duration) * i.run->at("summary").value("requests", 0.0);
    double n = 0;
    for (const json& s : ts)
        n += share(i.start + s.value("t", 0.0), s.value("interval_s", 1.0)) * s.value("requests", 0.0);
    return n;
}

// Step 4. Second k of an input started at its window start + t; it lands in the merged
// second nearest to that time, counted from the earliest window start. Counts add up
// exactly; a second's p50, p99 and max become the largest of the inputs' (an upper bound:
// the exact per-second histograms are in each run's --hdr-log file).
json aligned_timeseries(const std::vector<input>& in, double origin, std::string& reading) {
    std::map<long long, json> seconds;
    for (const input& i : in) {
        reading = i.name;
        for (const json& s : i.run->value("timeseries", json::array())) {
            double at = (i.start > 0 ? i.start - origin : 0) + s.value("t", 0.0);
            long long index = std::max(0LL, std::llround(at));
            auto [it, first] = seconds.try_emplace(index, json::object());
            json& t = it->second;
            if (first) {
                t = s;
                t["t"] = static_cast<double>(index);
                t["generators"] = 1;
                continue;
            }
            for (const char* k : {"requests", "errors"}) t[k] = count(t, k) + count(s, k);
            for (const char* k : {"p50", "p99", "max"})
                t[k] = std::max(integer_at(t, k, 0), integer_at(s, k, 0));
            t["requests_per_sec"] = t.value("requests_per_sec", 0.0) + s.value("requests_per_sec", 0.0);
            t["interval_s"] = std::max(t.value("interval_s", 0.0), s.value("interval_s", 0.0));
            t["generators"] = count(t, "generators") + 1;
        }
    }
    json out = json::array();
    for (auto& [index, t] : seconds) out.push_back(std::move(t));
    return out;
}

// merge_results, which names the input in a bad_results_value: `reading` says which (a
// copy: the inputs are gone by the time the exception is caught).
json merge_inputs(const std::vector<json>& runs, const merge_options& mo, std::string& reading) {
    if (runs.empty()) throw std::runtime_error("nothing to merge");
    std::vector<input> in;
    for (std::size_t k = 0; k < runs.size(); ++k) {
        const json& r = runs[k];
        std::string name = k < mo.names.size() ? mo.names[k] : "input " + std::to_string(k + 1);
        if (!r.is_object() || r.value("schema_version", json(nullptr)) != schema_version ||
            !r.contains("histograms") || !r.contains("summary") || !r.contains("config"))
            throw std::runtime_error(name + " is not a rot13-load results object of schema version " +
                                     std::to_string(schema_version));
        const json& s = r.at("summary");
        const json& start = s.value("window_start_epoch_s", json(nullptr));
        std::string host = r.value("context", json::object()).value("host", "");
        in.push_back({&r, name, r.at("config").value("label", host),
                      start.is_number() ? start.get<double>() : 0, s.value("duration_s", 0.0)});
    }

    // 1. One experiment, or --force.
    reading.clear();  // the checks read every input's config: their messages name the key
    std::vector<std::string> differences = runs.size() > 1 ? mismatches(in) : std::vector<std::string>{};
    if (!differences.empty() && !mo.force) {
        std::string text = "the inputs are not one experiment: ";
        for (std::size_t k = 0; k < differences.size(); ++k) text += (k ? "; " : "") + differences[k];
        throw merge_mismatch(text + " (--force merges them anyway, and records that it did)");
    }

    // 2. and 3. Histograms bucket by bucket; counts summed.
    std::map<std::string, histogram> hists;
    error_counts errors;
    std::uint64_t requests = 0, bytes_sent = 0, bytes_received = 0, unfinished = 0, starved = 0;
    double ramp_up_s = 0, rate_total = 0;
    double cpu_user = 0, cpu_sys = 0, window_user = 0, window_sys = 0;
    std::int64_t peak_rss = 0;
    json connections = {{"requested", 0}, {"established", 0}, {"idle_requested", 0}, {"idle_established", 0}};
    json mismatch_examples = json::array();
    std::vector<std::string> reasons;
    bool ok = true;
    json merged_from = json::array(), inputs = json::array();
    for (const input& i : in) {
        reading = i.name;
        const json& r = *i.run;
        for (const auto& [name, h] : r.at("histograms").items()) {
            histogram one = histogram_from_json(h);
            auto [it, inserted] = hists.try_emplace(name, one);
            if (!inserted && !it->second.same_layout(one))
                throw std::runtime_error(i.name + ": histogram " + name + " has another layout than " +
                                         in.front().name +
                                         "'s (lowest, highest or significant digits differ)");
            if (!inserted) it->second.merge(one);
        }
        const json& s = r.at("summary");
        requests += count(s, "requests");
        bytes_sent += count(s, "bytes_sent");
        bytes_received += count(s, "bytes_received");
        unfinished += count(s, "unfinished");
        starved += count(s, "starved_connections");
        ramp_up_s = std::max(ramp_up_s, s.value("ramp_up_s", 0.0));
        const json& e = s.at("errors");
        errors.add({count(e, "connect"), count(e, "refused"), count(e, "reset"), count(e, "closed"),
                    count(e, "timeout"), count(e, "mismatch"), count(e, "short_reply"), count(e, "other")});
        if (s.contains("connections"))
            for (const auto& [k, v] : s.at("connections").items())
                connections[k] =
                    count(connections, k.c_str()) +
                    static_cast<std::uint64_t>(integer_value(v, "summary.connections." + k, 0, INT64_MAX));
        for (const auto& m : s.value("mismatches", json::array()))
            if (mismatch_examples.size() < max_mismatch_examples) mismatch_examples.push_back(m);
        const json& l = r.value("loadgen", json::object());
        cpu_user += l.value("cpu_user_s", 0.0);
        cpu_sys += l.value("cpu_sys_s", 0.0);
        window_user += l.value("window_cpu_user_s", 0.0);
        window_sys += l.value("window_cpu_sys_s", 0.0);
        peak_rss = std::max(peak_rss, integer_at(l, "peak_rss_kb", 0));
        rate_total += r.at("config").value("rate", 0.0);
        if (r.value("status", "failed") != "ok") {
            ok = false;
            reasons.push_back(i.label + ": " + r.value("reason", ""));
        }
        const json& c = r.value("context", json::object());
        merged_from.push_back({{"host", c.value("host", "")},
                               {"label", i.label},
                               {"date", c.value("date", "")},
                               {"git_commit", c.value("git_commit", "")}});
        const json& clock = c.value("clock", json::object());
        inputs.push_back({{"file", i.name},
                          {"label", i.label},
                          {"host", c.value("host", "")},
                          {"window_start_epoch_s", i.start > 0 ? json(i.start) : json(nullptr)},
                          {"duration_s", i.duration},
                          {"requests", count(s, "requests")},
                          {"requests_per_sec", s.value("requests_per_sec", 0.0)},
                          {"p99_ns", s.value("latency_ns", json::object())
                                         .value("corrected", json::object())
                                         .value("p99", json(nullptr))},
                          {"clock_offset_s", clock.value("offset_s", json(nullptr))},
                          {"status", r.value("status", "failed")}});
    }

    // 3. The common window: from the latest start to the earliest end. Its rate counts
    // each generator's lines in it (pro rata at its edges), so that a generator that
    // measured a little longer than the others does not inflate the total.
    double earliest = INFINITY, common_start = 0, common_end = INFINITY, longest = 0;
    bool aligned = std::all_of(in.begin(), in.end(), [](const input& i) { return i.start > 0; });
    for (const input& i : in) {
        earliest = std::min(earliest, i.start);
        common_start = std::max(common_start, i.start);
        common_end = std::min(common_end, i.end());
        longest = std::max(longest, i.duration);
    }
    double common_s = aligned ? std::max(0.0, common_end - common_start) : 0;
    double common_requests = 0;
    for (const input& i : in) common_requests += requests_between(i, common_start, common_end);
    double duration_s = common_s, requests_per_sec = common_s > 0 ? common_requests / common_s : 0;
    if (common_s <= 0) {
        // Forced, without a common window: the only rate left is the sum of each one's.
        duration_s = longest;
        requests_per_sec = 0;
        for (const input& i : in) requests_per_sec += i.run->at("summary").value("requests_per_sec", 0.0);
    }

    json histograms = json::object();
    for (const auto& [name, h] : hists) histograms[name] = histogram_to_json(h);
    auto summary_of = [&](const char* name) {
        return hists.count(name) ? latency_summary(hists.at(name)) : latency_summary(histogram());
    };
    if (!differences.empty()) {
        std::string forced = "merged with --force although ";
        for (std::size_t k = 0; k < differences.size(); ++k) forced += (k ? "; " : "") + differences[k];
        reasons.push_back(forced);
    }
    std::string reason;
    for (const auto& r : reasons) reason += (reason.empty() ? "" : "; ") + r;

    json context = runs.front().value("context", json::object());
    context["merged_from"] = std::move(merged_from);
    json config = runs.front().at("config");
    config["merged_runs"] = runs.size();
    config["connections"] = connections["requested"];
    config["idle"] = connections["idle_requested"];
    config["rate"] = rate_total;  // lines/s in total, over every generator
    std::string labels;
    for (const input& i : in) labels += (labels.empty() ? "" : "+") + i.label;
    config["label"] = labels;

    // 5. How far apart the windows opened, by each host's own clock.
    json merge = {
        {"inputs", std::move(inputs)},
        {"start_spread_ms", aligned ? json((common_start - earliest) * 1e3) : json(nullptr)},
        {"common_window_start_epoch_s", aligned ? json(common_start) : json(nullptr)},
        {"common_window_s", common_s},
        {"common_window_requests", std::llround(common_requests)},
        {"window_overlap", aligned && longest > 0 ? json(common_s / longest) : json(nullptr)},
        {"timeseries_origin_epoch_s", aligned ? json(earliest) : json(nullptr)},
        {"forced", !differences.empty()},
        {"mismatches", differences},
    };

    json timeseries = aligned_timeseries(in, aligned ? earliest : 0, reading);
    reading.clear();
    return {
        {"schema_version", schema_version},
        {"tool", "rot13-load merge"},
        {"context", std::move(context)},
        {"config", std::move(config)},
        {"summary",
         {{"requests", requests},
          {"requests_per_sec", requests_per_sec},
          {"bytes_sent", bytes_sent},
          {"bytes_received", bytes_received},
          {"duration_s", duration_s},
          {"window_start_epoch_s", aligned ? json(common_start) : json(nullptr)},
          {"ramp_up_s", ramp_up_s},
          {"connections", connections},
          {"errors", errors_json(errors)},
          {"error_rate", error_rate(errors.total(), requests)},
          {"validation_failures", errors.validation_failures()},
          {"unfinished", unfinished},
          {"starved_connections", starved},
          {"mismatches", std::move(mismatch_examples)},
          {"latency_ns",
           {{"corrected", summary_of("corrected")},
            {"uncorrected", summary_of("uncorrected")},
            {"connect", summary_of("connect")}}}}},
        {"histograms", std::move(histograms)},
        {"timeseries", std::move(timeseries)},
        {"loadgen",
         {{"cpu_user_s", cpu_user},
          {"cpu_sys_s", cpu_sys},
          {"window_cpu_user_s", window_user},
          {"window_cpu_sys_s", window_sys},
          {"peak_rss_kb", peak_rss},
          {"send_lag_ns", summary_of("send_lag")}}},
        {"merge", std::move(merge)},
        {"status", ok ? "ok" : "failed"},
        {"reason", reason},
    };
}

}  // namespace

json merge_results(const std::vector<json>& runs, const merge_options& mo) {
    std::string reading;
    try {
        return merge_inputs(runs, mo, reading);
    } catch (const bad_results_value& e) {
        if (reading.empty()) throw;
        throw bad_results_value(reading + ": " + e.what());
    }
}

std::string describe_merge(const json& merged) {
    const json& m = merged.at("merge");
    char spread[32] = "unknown";
    if (m.at("start_spread_ms").is_number())
        std::snprintf(spread, sizeof(spread), "%.1f ms", m.at("start_spread_ms").get<double>());
    char text[200];
    std::snprintf(
        text, sizeof(text), "%zu runs, %.0f lines/s over a common window of %.3f s, start spread %s%s",
        m.at("inputs").size(), merged.at("summary").at("requests_per_sec").get<double>(),
        m.at("common_window_s").get<double>(), spread, m.at("forced").get<bool>() ? " (forced)" : "");
    return text;
}

}  // namespace loadgen
