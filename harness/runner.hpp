// One run of a suite, start to finish:
//   1. start a fresh server pinned to the server CPUs, wait for its readiness line (or,
//      for a custom command, for its port to accept);
//   2. probe it with a few lines: a wrong reply fails the run ("protocol");
//   3. drive rot13-load pinned to the load CPUs, sampling the server's memory and CPU
//      (its whole process group) from /proc meanwhile;
//   4. stop the server with SIGTERM (SIGKILL after a grace period) and reap it with
//      wait4(), which gives its CPU time including the children it reaped, and the
//      peak RSS of its largest single process;
//   5. record everything, including a crash or a hang, as data.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "harness/context.hpp"
#include "harness/suite.hpp"

namespace harness {

struct run_options {
    std::filesystem::path out_dir;  // logs go to out_dir/logs/
    std::filesystem::path loadgen;  // the rot13-load binary
    pinning pins;
    std::string source;              // rot13-load --source, if given
    std::uint64_t payload_seed = 1;  // rot13-load --seed: the same lines for every run
    std::chrono::milliseconds ready_timeout{10000};
    std::chrono::milliseconds stop_grace{2000};
    harness::hosts hosts;  // where the server and rot13-load run, when not here (suite "hosts")
};

// Runs one configuration and returns its run object for the results file. Returns
// nothing when a stop was requested (SIGINT, SIGTERM): then the server and the load
// generator have been killed and reaped, and the unfinished run is not recorded.
std::optional<json> execute_run(const run_config& run, const run_options& opts);

// A record for a run that is not run here (a variant that is not built).
json skipped_run(const run_config& run, const std::string& reason);

// The "config" object of a run.
json run_config_json(const run_config& run);

}  // namespace harness
