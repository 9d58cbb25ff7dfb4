// machine.hpp on Linux: the "cpu", "intr" and "ctxt" lines of /proc/stat.
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "harness/machine.hpp"

namespace harness {

machine_counters read_machine_counters() {
    static const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    machine_counters c;
    std::ifstream in("/proc/stat");
    for (std::string line; std::getline(in, line);) {
        std::istringstream fields(line);
        std::string name;
        fields >> name;
        if (name == "cpu") {
            // user nice system idle iowait irq softirq steal ... (clock ticks)
            long long v[8] = {};
            for (auto& x : v) fields >> x;
            if (!fields) continue;
            c.irq_s = static_cast<double>(v[5]) / ticks;
            c.softirq_s = static_cast<double>(v[6]) / ticks;
            c.steal_s = static_cast<double>(v[7]) / ticks;
        } else if (name == "intr") {
            long long total = 0;
            if (fields >> total) c.interrupts = total;
        } else if (name == "ctxt") {
            long long total = 0;
            if (fields >> total) c.context_switches = total;
        }
    }
    return c;
}

}  // namespace harness
