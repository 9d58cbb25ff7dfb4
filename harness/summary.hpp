// What people read: the per-run progress line and the summary table at the end.
#pragma once

#include <initializer_list>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "harness/suite.hpp"

namespace harness {

// The number at path in a run's record (summary.requests_per_sec, server.cpu_us_per_line,
// ...), or nothing where it is missing or not a number.
std::optional<double> number_at(const json& run, std::initializer_list<const char*> path);

// 152345.6 -> "152,345"
std::string format_count(double value);
// 412345 ns -> "412 µs", 1234567 -> "1.23 ms"
std::string format_latency_ns(double ns);
// 95 -> "1m35s"
std::string format_duration(double seconds);

// "152,345 lines/s p99 412 µs" for an ok run; "FAILED: reason" or "skipped: reason".
std::string run_outcome(const json& run);

// One row per (server, load) cell in suite order: median over the ok repetitions of
// lines/s, corrected p99, server CPU µs per line and how busy rot13-load was; status.
void print_summary_table(std::ostream& out, const std::vector<run_config>& suite_order, const json& runs);

}  // namespace harness
