// Runs rot13-bench for a test: arguments in, exit status, stdout and stderr out. Every
// process it starts carries a marker in its environment, so that a test can find any
// server or load generator left behind, even one that changed its process group.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace rot13::test {

class bench_process {
public:
    // Starts `binary args...` with stdout and stderr into files in dir.
    bench_process(const std::string& binary, const std::vector<std::string>& args,
                  const std::filesystem::path& dir);
    bench_process(const bench_process&) = delete;
    bench_process& operator=(const bench_process&) = delete;
    ~bench_process();  // SIGKILLs it if it is still running

    pid_t pid() const { return pid_; }
    const std::string& marker() const { return marker_; }

    // The exit status (128 + signal for a signal), or nullopt after timeout.
    std::optional<int> wait(std::chrono::milliseconds timeout);

    std::string out() const;
    std::string err() const;

private:
    pid_t pid_ = -1;
    bool reaped_ = false;
    std::string marker_;
    std::filesystem::path out_, err_;
};

// Runs to the end (at most timeout) and returns the exit status; -1 on timeout.
struct bench_result {
    int status = -1;
    std::string out, err;
};
bench_result run_bench(const std::string& binary, const std::vector<std::string>& args,
                       const std::filesystem::path& dir,
                       std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Pids of live processes (zombies excluded) whose environment holds the marker.
std::vector<pid_t> processes_with_marker(const std::string& marker);

}  // namespace rot13::test
