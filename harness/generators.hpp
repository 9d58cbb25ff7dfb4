// Several load generators against one server (loads[].generators, docs/multi-host.md).
// The runner (runner.cpp) drives them like one; what differs is here:
//   1. each generator gets a label and a place: this machine, or a host reached through
//      its command prefix;
//   2. every host is asked to run `true` through its prefix, all at once and for a bounded
//      time: a host that does not answer loses its generator before the run, and the
//      slowest answer sets how far ahead the common start (--start-at) must lie;
//   3. after the run, each generator's results object is merged with rot13-load's own
//      merge (loadgen/merge.cpp: one implementation) and the run records the merged
//      figures plus every generator's own, a lost one's reason included.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "harness/process.hpp"
#include "harness/suite.hpp"

namespace harness {

// Step 1: one generator of a run as it is started.
struct generator_plan {
    std::string label;               // its --label
    std::optional<host_entry> host;  // empty: this machine
    std::vector<int> cpus;           // on this machine: pinned to these (empty: not pinned)
};

// The load's generators with their labels: the entry's, else the host's name (the last word
// of its prefix, "user@" dropped; this machine's name here) and the generator's 1-based index.
// Generators here without CPUs of their own share the load CPUs.
std::vector<generator_plan> plan_generators(const load_point& load, const std::vector<int>& load_cpus);

// Step 2: per generator, why its host did not answer ("" when it did or is this machine);
// and the seconds the slowest answer took. What the prefix printed goes into that
// generator's log.
struct reach_result {
    std::vector<std::string> unreachable;
    double slowest_s = 0;
};
reach_result reach_hosts(const std::vector<generator_plan>& plans,
                         const std::vector<std::filesystem::path>& logs, std::chrono::milliseconds timeout);

// Seconds from now to the common start: time for every generator to be started through its
// prefix (three times the slowest answer of step 2) and to open its connections.
double start_lead_s(double slowest_start_s, const load_point& load);

// The wall-clock time now, in seconds since the Unix epoch.
double epoch_now_s();

// Step 3: one generator after the run.
struct generator_result {
    std::string label;
    std::vector<std::string> command;  // what the harness ran (its prefix included)
    std::optional<exit_status> exit;   // none: never started, or never ended by itself
    json result;                       // its results object; null: it wrote none
    std::string failure;               // non-empty: why it counts as lost or failed
};

// Merges the results that came back into the run: summary, histograms, timeseries and
// loadgen are the merge's, "merge" says how it went (start spread, common window), and
// "generators" holds every generator's own figures. A lost or failed generator, or a merge
// that refuses its inputs, adds a failure naming it; the others' data is kept either way.
void record_generators(const std::vector<generator_result>& generators, json& record,
                       std::vector<std::string>& failures);

}  // namespace harness
