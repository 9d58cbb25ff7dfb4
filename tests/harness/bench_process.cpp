#include "bench_process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace rot13::test {

namespace fs = std::filesystem;
constexpr const char* marker_name = "ROT13_HARNESS_TEST_MARKER";

namespace {

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

bench_process::bench_process(const std::string& binary, const std::vector<std::string>& args,
                             const fs::path& dir) {
    static std::atomic<int> counter{0};
    int n = counter++;
    marker_ = std::to_string(::getpid()) + "-" + std::to_string(n) + "-" + std::to_string(std::time(nullptr));
    out_ = dir / ("bench-" + std::to_string(n) + ".out");
    err_ = dir / ("bench-" + std::to_string(n) + ".err");
    std::vector<std::string> storage{binary};
    storage.insert(storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string env = std::string(marker_name) + "=" + marker_;

    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        int out = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(out, STDOUT_FILENO);
        ::dup2(err, STDERR_FILENO);
        ::putenv(env.data());
        ::execv(argv[0], argv.data());
        std::fprintf(stderr, "cannot exec %s: %s\n", argv[0], std::strerror(errno));
        ::_exit(127);
    }
}

bench_process::~bench_process() {
    if (!reaped_ && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
}

std::optional<int> bench_process::wait(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            reaped_ = true;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

std::string bench_process::out() const {
    return read_file(out_);
}
std::string bench_process::err() const {
    return read_file(err_);
}

bench_result run_bench(const std::string& binary, const std::vector<std::string>& args, const fs::path& dir,
                       std::chrono::milliseconds timeout) {
    bench_process p(binary, args, dir);
    bench_result r;
    r.status = p.wait(timeout).value_or(-1);
    r.out = p.out();
    r.err = p.err();
    return r;
}

std::vector<pid_t> processes_with_marker(const std::string& marker) {
    std::vector<pid_t> found;
    const std::string needle = std::string(marker_name) + "=" + marker;
    DIR* dir = ::opendir("/proc");
    if (!dir) return found;
    while (dirent* entry = ::readdir(dir)) {
        if (entry->d_name[0] < '1' || entry->d_name[0] > '9') continue;
        std::string base = std::string("/proc/") + entry->d_name;
        std::string stat = read_file(base + "/stat");
        auto paren = stat.rfind(')');
        if (paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] == 'Z') continue;
        std::string environ = read_file(base + "/environ");
        // Entries are NUL-separated: match a whole entry.
        for (std::size_t at = 0; at < environ.size();) {
            std::size_t end = environ.find('\0', at);
            if (end == std::string::npos) end = environ.size();
            if (environ.compare(at, end - at, needle) == 0) {
                found.push_back(static_cast<pid_t>(std::atoi(entry->d_name)));
                break;
            }
            at = end + 1;
        }
    }
    ::closedir(dir);
    return found;
}

}  // namespace rot13::test
