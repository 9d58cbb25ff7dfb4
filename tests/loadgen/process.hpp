// Starting real binaries from the tests: a child process with its stdout and stderr
// captured and bounded waits (servers are started with tests/support/server_process).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace loadgen_test {

class child {
public:
    // Starts argv[0] with the arguments; stdout and stderr go to pipes that we read.
    explicit child(const std::vector<std::string>& argv);
    ~child();  // kills (SIGKILL) and reaps the child if it is still running
    child(const child&) = delete;
    child& operator=(const child&) = delete;

    pid_t pid() const { return pid_; }
    // Reads one stdout line, waiting at most `limit`. nullopt on EOF or timeout.
    std::optional<std::string> read_stdout_line(std::chrono::milliseconds limit);
    // Waits for the exit, reading both pipes meanwhile. Returns the exit status, 128+N for
    // a signal, or -1 on timeout (the child is then killed).
    int wait(std::chrono::milliseconds limit);
    void signal(int sig);
    const std::string& out() const { return out_; }
    const std::string& err() const { return err_; }

private:
    void drain(int timeout_ms);
    pid_t pid_ = -1;
    int out_fd_ = -1;
    int err_fd_ = -1;
    std::string out_;
    std::string err_;
    std::size_t out_consumed_ = 0;
    int status_ = -2;
};

struct load_run {
    int status;
    std::string out;
    std::string err;
    double seconds;  // wall-clock time the run took
};

// Runs rot13-load with args and waits at most `limit`.
load_run run_load(const std::vector<std::string>& args,
                  std::chrono::milliseconds limit = std::chrono::seconds(60));

// A fresh temporary file name (the file itself is not created).
std::string temp_path(const std::string& suffix);

}  // namespace loadgen_test
