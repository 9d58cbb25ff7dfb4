// What rot13-load asks of every Unix-like system in the same way: POSIX calls only.
// CMake builds it with platform_linux.cpp on Linux and with platform_bsd.cpp on macOS and
// the BSDs; those two hold what differs.
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "common/signals.hpp"
#include "loadgen/platform.hpp"

// ru_maxrss is in KiB on Linux and the BSDs but in bytes on macOS. CMake says which
// (loadgen/CMakeLists.txt), so that this file needs no #ifdef __APPLE__.
static_assert(ROT13_MAXRSS_UNIT_BYTES == 1 || ROT13_MAXRSS_UNIT_BYTES == 1024);

namespace loadgen {
namespace {

double seconds(const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

std::optional<std::uint64_t> finite(rlim_t limit) {
    if (limit == RLIM_INFINITY) return std::nullopt;
    return static_cast<std::uint64_t>(limit);
}

}  // namespace

open_file_limits open_file_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return {};
    return {finite(limit.rlim_cur), finite(limit.rlim_max)};
}

system_description describe_system() {
    system_description d;
    char host[256] = {};
    ::gethostname(host, sizeof(host) - 1);
    d.host = host;
    utsname uts{};
    if (::uname(&uts) == 0) {
        d.os = uts.sysname;
        d.kernel = std::string(uts.release) + " " + uts.version;
        d.arch = uts.machine;
    }
    return d;
}

cpu_times process_cpu_times() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return {seconds(usage.ru_utime), seconds(usage.ru_stime)};
}

void ignore_sigpipe() {
    rot13::ignore_sigpipe();  // the servers' own (common/signals_posix.cpp)
}

bool stderr_is_terminal() {
    return ::isatty(STDERR_FILENO) == 1;
}

std::optional<command_output> run_command(const std::string& command_line) {
    std::FILE* pipe = ::popen(command_line.c_str(), "r");
    if (!pipe) return std::nullopt;
    command_output out;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof(buf), pipe)) > 0;) out.text.append(buf, n);
    int status = ::pclose(pipe);
    if (status == -1) return std::nullopt;
    out.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return out;
}

void wait_for_stdin_to_close() {
    // read(), not stdio: a thread blocked in fgetc() would hold stdin's lock while exit()
    // flushes the streams.
    char buf[512];
    for (;;) {
        ssize_t n = ::read(STDIN_FILENO, buf, sizeof(buf));
        if (n == 0 || (n < 0 && errno != EINTR)) return;
    }
}

long peak_rss_kb() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss * ROT13_MAXRSS_UNIT_BYTES / 1024;
}

}  // namespace loadgen
