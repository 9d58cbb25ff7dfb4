// The results object (docs/results-schema.md): one writer for the JSON, one for the human
// summary, the verdict (status and reason), and the exact merge of several results.
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "loadgen/engine.hpp"
#include "loadgen/options.hpp"

namespace loadgen {

inline constexpr int schema_version = 1;

struct verdict {
    bool ok = true;
    std::string reason;  // why it failed; otherwise notes such as an interruption, or ""
};

// Applies the pass/fail rules: any validation failure, an error rate above
// --max-error-rate, a corrected p99 above --max-p99-ms, no request at all, or a run that
// could not happen fails; the reason names each broken rule.
verdict judge(const run_result& r, const options& opts);

// "connect 3, reset 1": the error classes with a non-zero count, for messages and the summary.
std::string error_breakdown(const error_counts& e);

// The machine and build this ran on: date, host, os, kernel, cpu_model, cores, compiler,
// build_type, git_commit, library versions, limits.
nlohmann::json collect_context();

// The whole results object.
nlohmann::json to_json(const run_result& r, const options& opts, const verdict& v,
                       const nlohmann::json& context);

// A histogram as JSON ({"buckets": [[lowest value, count], ...], ...}) and back, exactly.
nlohmann::json histogram_to_json(const histogram& h);
histogram histogram_from_json(const nlohmann::json& j);
// {"count", "min", "p50", "p75", "p90", "p99", "p999", "p9999", "max", "mean"} in ns.
nlohmann::json latency_summary(const histogram& h);

// Merges results of runs made at the same time by several processes or hosts: histograms
// added bucket by bucket, counts summed, rates summed, percentiles recomputed from the
// merged histograms (per-second p50/p99/max: the largest of the inputs, an upper bound).
// Throws std::runtime_error on an input that is not a results object.
nlohmann::json merge_results(const std::vector<nlohmann::json>& runs);

// The human summary for stdout.
void print_summary(std::FILE* out, const run_result& r, const options& opts, const verdict& v);

}  // namespace loadgen
