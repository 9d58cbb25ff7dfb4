// Suites: what to run. A suite names servers (built variants, their --backend values, or
// any command line with {port}) and loads (closed or open loop; a list in a load expands
// into one run per value), and is expanded into runs: servers x loads x repetitions.
// The format is a contract (docs/harness.md): unknown keys are errors that name the key.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/variants.hpp"

namespace harness {

using json = nlohmann::ordered_json;

// A mistake in a suite file. The message names the place: `servers[2]: unknown key "comand"`.
struct suite_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct server_entry {
    std::string label;                   // config.server: the variant, or the entry's "name"
    std::string variant;                 // empty for a custom command
    std::optional<std::string> backend;  // --backend value, for variants that take one
    std::vector<std::string> args;       // extra flags for a built variant
    std::vector<std::string> command;    // a custom command line; "{port}" is replaced
    std::string skip_reason;             // non-empty: not available here, runs are recorded as skipped
    std::string note;                    // the variant's note (variant_info::note); config.note
    std::filesystem::path binary;        // built variants
};

// A knee search (mode "knee"): open-loop probes at rising rates, then bisection, for the
// highest rate whose corrected p99 stays under p99_ms with no errors (runner.cpp).
struct knee_search {
    double p99_ms = 1;
    double start_rate = 1000;    // lines/s of the first probe
    double max_rate = 1000000;   // no probe above this
    double tolerance = 0.05;     // bisection ends when upper / lower <= 1 + tolerance
};

// Where a run's server or load generator runs, when not here (docs/multi-host.md): a
// command prefix that runs a command on that host (["ssh", "-o", "BatchMode=yes", "h1"],
// ["ip", "netns", "exec", "ns1"]), the program there, and the CPUs to pin it to there.
struct host_entry {
    std::vector<std::string> command;  // the prefix
    std::string program;               // rot13-bench (server host) or rot13-load (load host) there
    std::string cpus;                  // a CPU list on that host; empty: not pinned
};
// One of a load's several generators (loads[].generators, docs/multi-host.md).
struct generator_entry {
    std::string label;               // its --label; empty: the host's name and its index
    std::optional<host_entry> host;  // empty: this machine
    std::string local_cpus;          // on this machine: a CPU list to pin it to; empty: the load CPUs
};

struct load_point {
    std::string mode = "closed";  // "closed", "open" or "knee"
    int connections = 1;          // connections sending lines
    int idle = 0;                 // extra connections held open without traffic
    std::optional<int> depth;     // closed loop: lines in flight per connection
    std::optional<double> rate;   // open loop: lines/s in total
    int size = 16;                // bytes per line, without '\n'
    std::string arrivals;         // open loop and knee: "uniform" or "poisson"
    double spin_us = 0;           // open loop and knee: rot13-load --spin-us (0: sleep on timers)
    std::optional<knee_search> knee;  // mode "knee"
    double duration_s = 2;
    double warmup_s = 0.5;
    bool timing_overridden = false;  // the load sets its own duration_s or warmup_s
    std::vector<std::string>
        servers;  // run only on these servers ("epoll", "libevent-event/poll"); empty: all
    // Several rot13-load processes started together (--start-at) and merged: one entry per
    // generator, each running the load as written. Empty: one generator, started at once.
    std::vector<generator_entry> generators;
};

struct run_config {
    std::string id;    // stable, from the config: what --resume matches
    std::string cell;  // the id without the repetition: one row of the summary table
    std::size_t server_index = 0;
    std::size_t load_index = 0;
    server_entry server;
    load_point load;
    int repetition = 1;  // 1-based
};

struct hosts {
    std::optional<host_entry> server;  // the server through `rot13-bench serve` there
    std::optional<host_entry> load;
    std::string address;  // where the server listens and rot13-load connects (default 127.0.0.1)
};

struct suite {
    std::string name;
    harness::hosts hosts;
    json source;  // the suite file as given
    int repetitions = 1;
    std::optional<std::uint64_t> seed;
    // "precision": {"percent": P, "budget_s": S}: repetitions until the interval is tight
    // (harness/precision.hpp); the command line's --precision and --budget win.
    std::optional<double> precision_percent;
    std::optional<double> precision_budget_s;
    std::vector<server_entry> servers;  // "all" and backends already expanded
    std::vector<load_point> loads;      // lists already expanded
};

// The server as the summary and the progress lines show it: "libevent-event/epoll",
// "kqueue (libkqueue on Linux)".
std::string shown_name(const server_entry& s);

// Checks and expands a parsed suite. Throws suite_error naming the bad key.
suite parse_suite(const json& j, const variant_table& variants);

// Reads and parses a suite file; errors start with the file name (and line:column for
// JSON syntax errors).
suite load_suite(const std::filesystem::path& file, const variant_table& variants);

// Every run, in suite order: servers, then loads, then repetitions. Throws suite_error on
// two runs with the same id.
std::vector<run_config> expand(const suite& s);

// The order the runs are executed in: repetition 1 of every (server, load) cell, in an
// order shuffled with `seed`, then repetition 2 in another shuffled order, and so on, so
// that slow drift of the machine (thermal, background jobs) does not favour one server.
std::vector<run_config> interleave(std::vector<run_config> runs, std::uint64_t seed);

// rot13-bench run --generators N: every closed or open load that names no generators of
// its own gets N on the load host (suite "hosts": "load", else this machine). Call before
// expand(): the run ids say how many generators a run has.
void default_generators(suite& s, int n);

// For people: "closed c=100 d=1", "open c=100 rate=10000 idle=1000 size=1024".
std::string describe_load(const load_point& load);

// A number as the shortest text that reads back the same: 10000, 0.5.
std::string format_number(double value);

}  // namespace harness
