// The context of a results file: what machine, OS, build and limits the numbers come
// from (STYLE.md §8), and the preflight checks of a suite against those limits.
#pragma once

#include <string>
#include <vector>

#include "harness/suite.hpp"
#include "harness/variants.hpp"

namespace harness {

struct limits {
    long nofile_soft = -1;
    long nofile_hard = -1;
    long somaxconn = -1;
    int port_first = -1;  // ephemeral (local) port range
    int port_last = -1;
};

// Raises the soft open-files limit to the hard one (the suites open thousands of
// sockets; children inherit it), then reads the limits.
limits raise_and_read_limits();

struct pinning {
    std::vector<int> server_cpus;  // empty: not pinned
    std::vector<int> load_cpus;
    std::string note;  // how it was chosen, or why there is no pinning
};

// Defaults: the allowed CPUs split in two halves, the first for the server. With one
// CPU there is nothing to split: both run unpinned, and the note says so. Throws
// std::invalid_argument on a bad list or a CPU this process may not use.
pinning choose_pinning(const std::string& server_cpus, const std::string& load_cpus);

// Clear warnings when the suite asks for more connections than the limits allow.
std::vector<std::string> preflight(const std::vector<run_config>& runs, const limits& lim, bool source_given);

// The context object of the results file.
json collect_context(const variant_table& variants, const limits& lim, const pinning& pins,
                     const std::vector<std::string>& warnings);

// "2024-05-01T12:34:56Z"
std::string utc_now();

}  // namespace harness
