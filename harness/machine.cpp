#include "harness/machine.hpp"

namespace harness {

json machine_json(const machine_counters& before, const machine_counters& after, double seconds) {
    auto delta = [](const auto& a, const auto& b) { return a && b ? json(*b - *a) : json(nullptr); };
    return {{"seconds", seconds},
            {"steal_s", delta(before.steal_s, after.steal_s)},
            {"irq_s", delta(before.irq_s, after.irq_s)},
            {"softirq_s", delta(before.softirq_s, after.softirq_s)},
            {"interrupts", delta(before.interrupts, after.interrupts)},
            {"context_switches", delta(before.context_switches, after.context_switches)}};
}

}  // namespace harness
