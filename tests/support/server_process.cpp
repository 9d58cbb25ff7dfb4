#include "server_process.hpp"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace rot13::test {

using clock = std::chrono::steady_clock;

server_process::server_process(const launch_options& options) : stop_signal_(options.stop_signal) {
    int out[2];
    int in[2] = {-1, -1};
    if (::pipe(out) < 0) throw std::runtime_error("pipe failed");
    if (options.stdin_pipe && ::pipe(in) < 0) throw std::runtime_error("pipe failed");
    std::vector<std::string> argv_storage = options.launcher;
    argv_storage.insert(argv_storage.end(), {options.binary, "--port", "0"});
    argv_storage.insert(argv_storage.end(), options.args.begin(), options.args.end());

    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        // Own process group, so that the destructor can kill forked children too.
        ::setpgid(0, 0);
        ::dup2(out[1], STDOUT_FILENO);
        ::close(out[0]);
        ::close(out[1]);
        if (in[0] >= 0) {
            ::dup2(in[0], STDIN_FILENO);
            ::close(in[0]);
            ::close(in[1]);
        }
        if (options.nofile_limit) {
            rlimit limit{static_cast<rlim_t>(*options.nofile_limit), static_cast<rlim_t>(*options.nofile_limit)};
            ::setrlimit(RLIMIT_NOFILE, &limit);
        }
        std::vector<char*> argv;
        for (auto& arg : argv_storage) argv.push_back(arg.data());
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        std::fprintf(stderr, "cannot exec %s: %s\n", argv[0], std::strerror(errno));
        ::_exit(127);
    }
    ::setpgid(pid_, pid_);
    ::close(out[1]);
    stdout_fd_ = out[0];
    if (in[0] >= 0) ::close(in[0]);
    stdin_fd_ = in[1];

    // Read stdout until the first full line, or the deadline, or EOF.
    std::string text;
    const auto deadline = clock::now() + options.ready_timeout;
    while (text.find('\n') == std::string::npos) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
        if (left.count() <= 0)
            throw std::runtime_error(options.binary + " printed no readiness line within " +
                                     std::to_string(options.ready_timeout.count()) + " ms");
        pollfd p{stdout_fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        char buf[256];
        ssize_t n = ::read(stdout_fd_, buf, sizeof(buf));
        if (n <= 0) {
            // EOF: the server exited before it was ready.
            ::waitpid(pid_, &status_, 0);
            reaped_ = true;
            if (WIFEXITED(status_) && WEXITSTATUS(status_) == unavailable_exit_code) {
                unavailable_ = true;
                return;
            }
            throw std::runtime_error(options.binary + " exited before printing its readiness line (status " +
                                     std::to_string(status_) + ")");
        }
        text.append(buf, static_cast<std::size_t>(n));
    }
    readiness_line_ = text.substr(0, text.find('\n'));
    const std::string prefix = "listening on ";
    auto colon = readiness_line_.rfind(':');
    if (readiness_line_.rfind(prefix, 0) != 0 || colon == std::string::npos)
        throw std::runtime_error("unexpected readiness line: '" + readiness_line_ + "'");
    port_ = static_cast<std::uint16_t>(std::stoi(readiness_line_.substr(colon + 1)));
}

server_process::~server_process() {
    if (pid_ > 0 && !reaped_ && stop_signal_ != 0) signal_and_wait(stop_signal_, std::chrono::seconds(2));
    if (pid_ > 0 && !reaped_) {
        ::kill(-pid_, SIGKILL);
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status_, 0);
    } else if (pid_ > 0) {
        ::kill(-pid_, SIGKILL);  // forked children left behind, if any
    }
    if (stdout_fd_ >= 0) ::close(stdout_fd_);
    if (stdin_fd_ >= 0) ::close(stdin_fd_);
}

bool server_process::running() {
    if (reaped_) return false;
    if (::waitpid(pid_, &status_, WNOHANG) == pid_) reaped_ = true;
    return !reaped_;
}

std::optional<int> server_process::signal_and_wait(int sig, std::chrono::milliseconds timeout) {
    if (!reaped_) ::kill(pid_, sig);
    const auto deadline = clock::now() + timeout;
    while (running()) {
        if (clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return status_;
}

std::optional<int> server_process::close_stdin_and_wait(std::chrono::milliseconds timeout) {
    if (stdin_fd_ >= 0) ::close(stdin_fd_);
    stdin_fd_ = -1;
    const auto deadline = clock::now() + timeout;
    while (running()) {
        if (clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return status_;
}

namespace {

struct proc_stat {
    char state = '?';
    pid_t ppid = 0;
    pid_t pgrp = 0;
    double cpu_seconds = 0;
};

// Reads "pid (comm) state ppid pgrp ..." from /proc/<pid>/stat; comm may contain spaces.
bool read_stat(pid_t pid, proc_stat& stat) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!std::getline(in, text)) return false;
    auto close_paren = text.rfind(')');
    if (close_paren == std::string::npos) return false;
    std::istringstream fields(text.substr(close_paren + 2));
    std::string field;
    std::vector<std::string> values;
    while (fields >> field) values.push_back(field);
    // After the comm: state(0) ppid(1) ... utime(11) stime(12).
    if (values.size() < 13) return false;
    stat.state = values[0][0];
    stat.ppid = static_cast<pid_t>(std::stol(values[1]));
    stat.pgrp = static_cast<pid_t>(std::stol(values[2]));
    stat.cpu_seconds = (std::stod(values[11]) + std::stod(values[12])) / static_cast<double>(::sysconf(_SC_CLK_TCK));
    return true;
}

// Every process on the machine, by pid.
std::map<pid_t, proc_stat> all_processes() {
    std::map<pid_t, proc_stat> result;
    if (DIR* dir = ::opendir("/proc")) {
        while (dirent* entry = ::readdir(dir)) {
            char* end = nullptr;
            long pid = std::strtol(entry->d_name, &end, 10);
            if (*end != '\0' || pid <= 0) continue;
            proc_stat stat;
            if (read_stat(static_cast<pid_t>(pid), stat)) result.emplace(static_cast<pid_t>(pid), stat);
        }
        ::closedir(dir);
    }
    return result;
}

}  // namespace

std::vector<pid_t> descendants(pid_t root) {
    std::multimap<pid_t, pid_t> children;
    for (const auto& [pid, stat] : all_processes()) children.emplace(stat.ppid, pid);
    std::vector<pid_t> result;
    std::vector<pid_t> frontier{root};
    while (!frontier.empty()) {
        pid_t parent = frontier.back();
        frontier.pop_back();
        auto [first, last] = children.equal_range(parent);
        for (auto it = first; it != last; ++it) {
            result.push_back(it->second);
            frontier.push_back(it->second);
        }
    }
    return result;
}

long tree_rss_kb(pid_t pid) {
    std::vector<pid_t> all = descendants(pid);
    all.push_back(pid);
    long total = 0;
    for (pid_t p : all) {
        std::ifstream in("/proc/" + std::to_string(p) + "/status");
        std::string line;
        while (std::getline(in, line)) {
            if (line.rfind("VmRSS:", 0) == 0) total += std::stol(line.substr(6));
        }
    }
    return total;
}

double tree_cpu_seconds(pid_t pid) {
    std::vector<pid_t> all = descendants(pid);
    all.push_back(pid);
    double total = 0;
    for (pid_t p : all) {
        proc_stat stat;
        if (read_stat(p, stat)) total += stat.cpu_seconds;
    }
    return total;
}

std::vector<pid_t> live_processes_in_group(pid_t pgid) {
    std::vector<pid_t> result;
    for (const auto& [pid, stat] : all_processes())
        if (stat.pgrp == pgid && stat.state != 'Z' && stat.state != 'X') result.push_back(pid);
    return result;
}

}  // namespace rot13::test
