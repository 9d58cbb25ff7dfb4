// Step 3's rot13-load processes (runner.hpp): one started the usual way, or one per
// generator of a load with several (harness/generators.hpp), each through its host's prefix
// with the common --start-at and its label; and, once they have ended, what they wrote,
// into the run's record.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "harness/generators.hpp"
#include "harness/process.hpp"
#include "harness/runner.hpp"

namespace harness {

// The last non-empty line of a log (at most 200 characters), for a failure reason.
std::string last_line(const std::filesystem::path& file);
// A failure reason followed by the last line of a log (what the program said last), if any.
std::string with_log_line(std::string reason, const std::filesystem::path& log);

// One rot13-load process of step 3: its process (null when it was never started: its host
// did not answer) and where its results object goes.
struct load_process {
    std::unique_ptr<child_process> child;
    std::filesystem::path json_file;
    bool json_on_stdout = false;  // on another host: its stdout is the results object

    bool running() { return child && !child->poll_exit(); }
    // Appends what it wrote on stdout to json_file (a remote one's results object), so that
    // it never blocks on a full pipe.
    void drain();
};

// The processes of one run's load, as started.
struct load_start {
    std::vector<load_process> loads;
    std::vector<generator_plan> plans;     // several generators: one per process
    std::vector<std::string> unreachable;  // per plan: why it was not started ("": it was)
    std::vector<std::vector<std::string>> commands;
    std::vector<std::filesystem::path> logs;
    double lead_s = 0;  // seconds to the common start (0: one generator, started at once)
};

// Starts the load of `run` against the server's port; logs and results objects go to
// logs/NAME.load.* (one generator) or logs/NAME.loadN.* (the Nth of several). A generator
// whose host does not answer is not started. Notes say what could not be pinned.
load_start start_load(const run_config& run, const run_options& opts, std::uint16_t port,
                      const std::filesystem::path& logs, const std::string& name,
                      std::vector<std::string>& notes);

// Once every process has ended: one generator's results object goes into the run as it is;
// several generators' are merged (record_generators). Failures get why any of them failed.
void take_load(load_start& started, json& record, std::vector<std::string>& failures);

}  // namespace harness
