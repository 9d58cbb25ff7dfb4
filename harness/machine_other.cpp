// machine.hpp where the harness reads no machine-wide counters (Windows, macOS, FreeBSD):
// every figure is null, and the run says so.
#include "harness/machine.hpp"

namespace harness {

machine_counters read_machine_counters() {
    return {};
}

}  // namespace harness
