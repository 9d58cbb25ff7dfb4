#include "harness/machine.hpp"

#include <cmath>

namespace harness {

json machine_json(const machine_counters& before, const machine_counters& after, double seconds) {
    auto delta = [](const auto& a, const auto& b) { return a && b ? json(*b - *a) : json(nullptr); };
    // Seconds come from clock ticks (10 ms): rounded to the ms, so that 0.09 reads 0.09.
    auto seconds_delta = [](const std::optional<double>& a, const std::optional<double>& b) {
        return a && b ? json(std::round((*b - *a) * 1000) / 1000) : json(nullptr);
    };
    return {{"seconds", seconds},
            {"steal_s", seconds_delta(before.steal_s, after.steal_s)},
            {"irq_s", seconds_delta(before.irq_s, after.irq_s)},
            {"softirq_s", seconds_delta(before.softirq_s, after.softirq_s)},
            {"interrupts", delta(before.interrupts, after.interrupts)},
            {"context_switches", delta(before.context_switches, after.context_switches)}};
}

}  // namespace harness
