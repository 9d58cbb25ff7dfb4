// What the whole machine did during a run, besides the server and rot13-load: time stolen
// by the hypervisor, time in interrupt handlers, interrupts and context switches. On a
// shared VM these are where much of the run-to-run noise comes from (docs/harness.md,
// "machine"). CMake compiles machine_linux.cpp (/proc/stat) or machine_other.cpp (nothing
// known: every figure null).
#pragma once

#include <optional>

#include "harness/suite.hpp"

namespace harness {

struct machine_counters {
    std::optional<double> steal_s, irq_s, softirq_s;  // summed over all CPUs
    std::optional<long long> interrupts, context_switches;
};
machine_counters read_machine_counters();

// The run's "machine" object: what happened between before and after, over seconds.
json machine_json(const machine_counters& before, const machine_counters& after, double seconds);

}  // namespace harness
