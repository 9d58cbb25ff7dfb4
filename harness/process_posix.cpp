// child_process on Linux, macOS and the BSDs: fork and exec into a process group of its own,
// signals to the whole group, wait4() for the exit and its resource usage. What differs
// between these systems (pinning, dying with the harness, sampling a group) comes from
// process_linux.cpp, process_macos.cpp or process_freebsd.cpp (harness/process_os.hpp).
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "common/errors.hpp"
#include "harness/process.hpp"
#include "harness/process_os.hpp"

namespace harness {

struct child_process::os_state {
    pid_t pid = -1;
    int stdout_fd = -1;  // read end of the stdout pipe, nonblocking
    int stdin_fd = -1;   // write end of the stdin pipe
};

std::string executable_suffix() {
    return "";
}

std::filesystem::path own_stderr() {
    return "/dev/stderr";
}

// The names of the signals POSIX defines, the same on Linux, macOS and the BSDs (glibc's
// sigabbrev_np() and the BSDs' sys_signame[] are not portable).
std::string signal_name(int sig) {
    static const std::pair<int, const char*> names[] = {
        {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
        {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
        {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
        {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"}, {SIGXCPU, "SIGXCPU"},
        {SIGXFSZ, "SIGXFSZ"}, {SIGSYS, "SIGSYS"},
    };
    for (const auto& [number, name] : names)
        if (number == sig) return name;
    return "signal " + std::to_string(sig);
}

namespace {

void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
}

// pipe() with both ends close-on-exec (macOS has no pipe2()): the child's ends are
// dup2()ed onto 0, 1 or 2, which clears the flag for those copies only.
void make_pipe(int fds[2]) {
    if (::pipe(fds) != 0) rot13::throw_errno("pipe");
    for (int i = 0; i < 2; ++i) ::fcntl(fds[i], F_SETFD, FD_CLOEXEC);
}

// In the child, between fork and exec: only async-signal-safe calls. Reports problems
// as one text line on report_fd (close-on-exec, so the parent reads EOF at the exec).
[[noreturn]] void exec_child(const spawn_options& opts, char* const* argv, int in_fd, int out_fd, int log_fd,
                             int report_fd, pid_t parent) {
    auto report = [&](const char* what, int error) {
        const char* text = std::strerror(error);
        [[maybe_unused]] ssize_t n = ::write(report_fd, what, std::strlen(what));
        n = ::write(report_fd, text, std::strlen(text));
        n = ::write(report_fd, "\n", 1);
    };
    // Own process group: the harness stops a forking server and all its children with
    // one kill(-pgid), and a Ctrl-C in the terminal reaches only the harness, which then
    // stops everything in order.
    ::setpgid(0, 0);
    posix::die_with_parent();
    if (::getppid() != parent) ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    if (!opts.cpus.empty())
        if (int error = posix::pin_self(opts.cpus)) report("pin: ", error);
    ::dup2(in_fd, STDIN_FILENO);
    ::dup2(out_fd >= 0 ? out_fd : log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execvp(argv[0], argv);
    report("exec: ", errno);
    ::_exit(127);
}

}  // namespace

child_process::child_process(const spawn_options& opts) : os_(std::make_unique<os_state>()) {
    if (opts.argv.empty()) throw std::invalid_argument("child_process: empty command");
    std::vector<std::string> storage = opts.argv;
    std::vector<char*> argv;
    for (auto& arg : storage) argv.push_back(arg.data());
    argv.push_back(nullptr);

    int out[2] = {-1, -1};
    int in[2] = {-1, -1};
    int report[2];
    if (opts.capture_stdout) make_pipe(out);
    if (opts.stdin_pipe) make_pipe(in);
    make_pipe(report);
    std::string log = opts.log.empty() ? "/dev/null" : opts.log.string();
    int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) rot13::throw_errno("cannot open " + log);
    int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);

    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) rot13::throw_errno("fork");
    if (pid == 0) exec_child(opts, argv.data(), opts.stdin_pipe ? in[0] : devnull, out[1], log_fd, report[1], parent);
    os_->pid = pid;

    // Also from the parent, so that request_stop() works even before the child ran.
    ::setpgid(pid, pid);
    ::close(log_fd);
    if (devnull >= 0) ::close(devnull);
    ::close(report[1]);
    close_fd(out[1]);
    close_fd(in[0]);
    os_->stdout_fd = out[0];
    os_->stdin_fd = in[1];
    if (os_->stdout_fd >= 0) ::fcntl(os_->stdout_fd, F_SETFL, O_NONBLOCK);

    // Until the exec (or the child's exit), the child reports pinning and exec failures.
    std::string text;
    char buf[256];
    for (ssize_t n; (n = ::read(report[0], buf, sizeof(buf))) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        text.append(buf, static_cast<std::size_t>(n));
    }
    ::close(report[0]);
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("pin: ", 0) == 0)
            pin_error_ = pinning_method() + " to CPUs " + format_cpu_list(opts.cpus) + ": " + line.substr(5);
        if (line.rfind("exec: ", 0) == 0) exec_error_ = "cannot run " + opts.argv[0] + ": " + line.substr(6);
    }
}

child_process::~child_process() {
    kill_and_reap();
    close_fd(os_->stdout_fd);
    close_fd(os_->stdin_fd);
}

long child_process::pid() const {
    return os_->pid;
}

bool child_process::read_stdout(std::string& out) {
    if (os_->stdout_fd < 0) return false;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(os_->stdout_fd, buf, sizeof(buf));
        if (n > 0) {
            out.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
        close_fd(os_->stdout_fd);  // end of file, or an error that will not go away
        return false;
    }
}

bool child_process::write_stdin(const std::string& text) {
    if (os_->stdin_fd < 0) return false;
    for (std::size_t done = 0; done < text.size();) {
        ssize_t n = ::write(os_->stdin_fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;  // EPIPE: the harness ignores SIGPIPE
        done += static_cast<std::size_t>(n);
    }
    return true;
}

namespace {

// Reaps pid, blocking, with its resource usage; then the members of its group orphaned by
// its exit (a forking server's children), which are the harness's children now
// (become_subreaper), so that not even a zombie is left behind.
exit_status reap(pid_t pid) {
    int status = 0;
    rusage usage{};
    while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
    }
    while (::waitpid(-pid, nullptr, 0) > 0 || errno == EINTR) {
    }
    exit_status result;
    if (WIFEXITED(status)) result.code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
    auto seconds = [](const timeval& tv) {
        return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
    };
    result.user_s = seconds(usage.ru_utime);
    result.sys_s = seconds(usage.ru_stime);
    result.peak_rss_kb = posix::max_rss_kb(usage.ru_maxrss);
    return result;
}

}  // namespace

// The process group is signalled only while its leader is not reaped: until then its
// pid, which is the group's id, cannot be given to another process, so kill(-pid) cannot
// hit a stranger. That is why poll_exit() looks with WNOWAIT first, kills what is left of
// the group (a forking server's children), and only then reaps.
const std::optional<exit_status>& child_process::poll_exit() {
    if (exit_ || os_->pid <= 0) return exit_;
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(os_->pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
        info.si_pid != os_->pid)
        return exit_;
    ::kill(-os_->pid, SIGKILL);
    exit_ = reap(os_->pid);
    return exit_;
}

void child_process::request_stop() {
    close_fd(os_->stdin_fd);
    if (!exit_ && os_->pid > 0) ::kill(-os_->pid, SIGTERM);
}

void child_process::kill_and_reap() {
    if (exit_ || os_->pid <= 0) return;
    ::kill(-os_->pid, SIGKILL);
    exit_ = reap(os_->pid);
}

group_sample child_process::sample() const {
    if (exit_ || os_->pid <= 0) return {};
    return posix::sample_group(os_->pid);
}

}  // namespace harness
