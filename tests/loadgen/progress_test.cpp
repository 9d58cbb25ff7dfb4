// The live progress line: one line a second on stderr when stderr is a terminal, nothing
// when it is not. The terminal is a pseudo-terminal (forkpty), so the test runs anywhere.
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <string>
#include <thread>

#include "process.hpp"
#include "server_process.hpp"

namespace {

using namespace std::chrono_literals;

struct terminal_run {
    int status = -1;
    std::string terminal;  // everything rot13-load wrote to its terminal (stdout and stderr)
};

// Runs rot13-load with stdout and stderr on a pseudo-terminal, for at most 30 s.
terminal_run run_on_terminal(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    std::string binary = ROT13_LOAD_BINARY;
    argv.push_back(binary.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);

    int master = -1;
    pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
    if (pid < 0) throw std::runtime_error("forkpty failed");
    if (pid == 0) {
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    terminal_run r;
    auto deadline = std::chrono::steady_clock::now() + 30s;
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{master, POLLIN, 0};
        if (::poll(&p, 1, 100) > 0) {
            ssize_t n = ::read(master, buf, sizeof(buf));
            if (n <= 0) break;  // EIO: the child closed the terminal
            r.terminal.append(buf, static_cast<std::size_t>(n));
        }
    }
    // The terminal reaches its end when the child closes it, a moment before the child has
    // exited: wait for the exit until the same deadline, not just once (a race on a busy machine).
    int status = 0;
    pid_t reaped = 0;
    while ((reaped = ::waitpid(pid, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(10ms);
    if (reaped == 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        r.status = -1;
    } else {
        r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    ::close(master);
    return r;
}

TEST(Progress, AppearsOnATerminalOnceASecond) {
    rot13::test::server_process server({.binary = ROT13_SELECT_BINARY, .args = {}});
    terminal_run r = run_on_terminal(
        {"--port", std::to_string(server.port()), "-c", "4", "--rate", "2000", "--duration", "3", "--warmup", "1"});
    ASSERT_EQ(r.status, 0) << r.terminal;
    // Each update starts with "\r" and shows elapsed seconds, lines/s, p99 and errors.
    std::regex update(R"(\r +[0-9]+\.[0-9] s .{0,8} +[0-9]+ lines/s  p99 +([0-9]+\.[0-9]|-) us  errors 0)");
    auto updates = std::distance(std::sregex_iterator(r.terminal.begin(), r.terminal.end(), update),
                                 std::sregex_iterator());
    // 4 s of traffic (1 s warm-up + 3 s): about 4 updates; at least 3 even on a slow machine.
    EXPECT_GE(updates, 3) << r.terminal;
    EXPECT_LE(updates, 6) << r.terminal;
    EXPECT_NE(r.terminal.find("(warm)"), std::string::npos) << "the warm-up is marked: " << r.terminal;
    // By the end a second of the window is complete, and its p99 is shown.
    std::regex measured(R"(\r +[0-9]+\.[0-9] s  +[0-9]+ lines/s  p99 +[0-9]+\.[0-9] us)");
    EXPECT_TRUE(std::regex_search(r.terminal, measured)) << r.terminal;
}

TEST(Progress, StaysOffWhenStderrIsNotATerminal) {
    rot13::test::server_process server({.binary = ROT13_SELECT_BINARY, .args = {}});
    auto r = loadgen_test::run_load({"--port", std::to_string(server.port()), "-c", "2", "--duration", "1.5",
                                     "--warmup", "0"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err.find("lines/s"), std::string::npos) << r.err;
}

}  // namespace
