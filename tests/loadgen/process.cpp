#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <stdexcept>

#ifndef ROT13_LOAD_BINARY
#error "ROT13_LOAD_BINARY must name the rot13-load binary"
#endif

namespace loadgen_test {

child::child(const std::vector<std::string>& argv) {
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) < 0 || ::pipe2(err, O_CLOEXEC) < 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        ::dup2(out[1], STDOUT_FILENO);
        ::dup2(err[1], STDERR_FILENO);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
}

child::~child() {
    if (status_ == -2 && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int st;
        ::waitpid(pid_, &st, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
    if (err_fd_ >= 0) ::close(err_fd_);
}

void child::drain(int timeout_ms) {
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    if (::poll(fds, 2, timeout_ms) <= 0) return;
    char buf[65536];
    for (int i = 0; i < 2; ++i) {
        if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
        ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
        if (n > 0)
            (i == 0 ? out_ : err_).append(buf, static_cast<std::size_t>(n));
        else if (n == 0) {
            ::close(fds[i].fd);
            (i == 0 ? out_fd_ : err_fd_) = -1;
        }
    }
}

std::optional<std::string> child::read_stdout_line(std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        auto nl = out_.find('\n', out_consumed_);
        if (nl != std::string::npos) {
            std::string line = out_.substr(out_consumed_, nl - out_consumed_);
            out_consumed_ = nl + 1;
            return line;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                          std::chrono::steady_clock::now());
        if (left.count() <= 0 || out_fd_ < 0) return std::nullopt;
        drain(static_cast<int>(left.count()));
    }
}

int child::wait(std::chrono::milliseconds limit) {
    if (status_ != -2) return status_;
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        int st = 0;
        pid_t r = ::waitpid(pid_, &st, WNOHANG);
        if (r == pid_) {
            // Collect what is left in the pipes (bounded: a grandchild could hold them open).
            auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
            while ((out_fd_ >= 0 || err_fd_ >= 0) && std::chrono::steady_clock::now() < until) drain(50);
            status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            return status_;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &st, 0);
            status_ = -1;
            return status_;
        }
        drain(20);
    }
}

void child::signal(int sig) {
    ::kill(pid_, sig);
}

load_run run_load(const std::vector<std::string>& args, std::chrono::milliseconds limit) {
    std::vector<std::string> argv{ROT13_LOAD_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    auto start = std::chrono::steady_clock::now();
    child c(argv);
    int status = c.wait(limit);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return {status, c.out(), c.err(), seconds};
}

std::string temp_path(const std::string& suffix) {
    static std::atomic<int> counter{0};
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir ? dir : "/tmp") + "/rot13-load-test-" + std::to_string(::getpid()) + "-" +
           std::to_string(counter++) + suffix;
}

}  // namespace loadgen_test
