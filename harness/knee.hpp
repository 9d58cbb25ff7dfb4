// The knee of a server (a load with "mode": "knee", harness/suite.hpp): the highest
// open-loop rate at which its coordinated-omission-corrected p99 stays under a target with
// no errors. Like tcpkali's `-r @latency`, but with corrected latency and per server.
//
// Each probe is one whole run (execute_run) at one rate, with a fresh server and a full
// measured window. The search doubles the rate from start_rate while probes pass, halves it
// from start_rate while they fail (down to start_rate / 64), then bisects between the
// highest rate that passed and the lowest that failed until they are within the
// tolerance (5 %: upper <= lower x 1.05). A probe passes when the run is ok, its corrected
// p99 is at most p99_ms, and it delivered at least 95 % of the offered rate.
//
// The run's record is the highest passing probe's, with "knee": the target, the knee rate
// (null if no probe passed), the lowest failing rate above it (null if max_rate passed),
// and every probe in the order it ran.
#pragma once

#include <optional>

#include "harness/runner.hpp"

namespace harness {

std::optional<json> execute_knee(const run_config& run, const run_options& opts);

}  // namespace harness
