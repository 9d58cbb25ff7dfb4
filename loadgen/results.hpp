// The results object (docs/results-schema.md): one writer for the JSON, one for the human
// summary, the verdict (status and reason), and the exact merge of several results.
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "loadgen/engine.hpp"
#include "loadgen/options.hpp"
#include "loadgen/platform.hpp"

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

// context.clock from the output of `chronyc -n tracking` (empty: it could not be run):
// {source, offset_s (positive: this clock is ahead of NTP time), max_error_s, leap_status,
// reason}; offset_s is null, and reason says why, without chrony or its synchronisation.
nlohmann::json clock_from_chronyc(const std::optional<command_output>& tracking);

// The whole results object.
nlohmann::json to_json(const run_result& r, const options& opts, const verdict& v,
                       const nlohmann::json& context);

// The text of a results object as rot13-load writes it (a file, stdout): one line of JSON
// and '\n'. Bytes that are not UTF-8 in a string (a --label in Latin-1, a line of
// chronyc's) become U+FFFD: the run's results are written all the same.
std::string results_text(const nlohmann::json& results);

// A value in a results file (another machine's, perhaps damaged or edited) that is not
// what the schema says: a count that is negative, fractional or past 2^63, a bucket outside
// its histogram. The message names the key. Checked before any conversion, because turning
// a double such as 1e300 into an integer is undefined behaviour, not an error.
struct bad_results_value : std::runtime_error {
    using std::runtime_error::runtime_error;
};
// v as an integer in [min, max] (an integral double such as 5.0 is accepted), else
// bad_results_value naming key.
std::int64_t integer_value(const nlohmann::json& v, const std::string& key, std::int64_t min,
                           std::int64_t max);

// A histogram as JSON ({"buckets": [[lowest value, count], ...], ...}) and back, exactly.
// histogram_from_json throws bad_results_value on a bucket outside the histogram's range,
// a negative count or counts that add up past 2^63.
nlohmann::json histogram_to_json(const histogram& h);
histogram histogram_from_json(const nlohmann::json& j);
// {"count", "min", "p50", "p75", "p90", "p99", "p999", "p9999", "max", "mean"} in ns.
nlohmann::json latency_summary(const histogram& h);

// summary.errors: every class and the total; and errors / (requests + errors).
nlohmann::json errors_json(const error_counts& e);
double error_rate(std::uint64_t errors, std::uint64_t requests);

// Merges results of runs made at the same time by several generators against one server
// (loadgen/merge.cpp): histograms added bucket by bucket, so that percentiles are exact;
// counts summed; the rate taken over the common window; per-second series lined up by
// wall-clock time; the spread of the start times reported under "merge".
struct merge_options {
    bool force = false;              // merge inputs that are not one experiment, and record it
    std::vector<std::string> names;  // the inputs' file names, for messages
};
// Inputs that are not one experiment (another target, mode, line size, depth or rate per
// generator; windows overlapping by less than 95 %), without --force.
struct merge_mismatch : std::runtime_error {
    using std::runtime_error::runtime_error;
};
// Throws merge_mismatch naming every difference, or std::runtime_error on an input that is
// not a results object.
nlohmann::json merge_results(const std::vector<nlohmann::json>& runs, const merge_options& options = {});
// What a merge did, in one line: "2 runs, 41234 lines/s over a common window of 9.981 s,
// start spread 3.2 ms".
std::string describe_merge(const nlohmann::json& merged);

// The human summary for stdout.
void print_summary(std::FILE* out, const run_result& r, const options& opts, const verdict& v);

}  // namespace loadgen
