#include "signals.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <csignal>
#include <cerrno>

#include "errors.hpp"

namespace rot13 {
namespace {

int pipe_fds[2] = {-1, -1};
volatile std::sig_atomic_t stop_flag = 0;

extern "C" void on_stop_signal(int) {
    int saved_errno = errno;  // write() may change errno under the interrupted code
    stop_flag = 1;
    char byte = 1;
    [[maybe_unused]] auto ignored = ::write(pipe_fds[1], &byte, 1);
    errno = saved_errno;
}

}  // namespace

void ignore_sigpipe() {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    if (::sigaction(SIGPIPE, &ignore, nullptr) < 0) throw_errno("cannot ignore SIGPIPE");
}

void install_signal_handlers() {
    ignore_sigpipe();
    if (pipe_fds[0] < 0) {
        if (::pipe(pipe_fds) < 0) throw_errno("cannot create the stop pipe");
        for (int fd : pipe_fds) {
            ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
            ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
    }
    struct sigaction stop {};
    stop.sa_handler = on_stop_signal;
    sigemptyset(&stop.sa_mask);
    // No SA_RESTART: a blocking accept() or recv() returns EINTR so that the code around
    // it can look at stop_requested().
    stop.sa_flags = 0;
    if (::sigaction(SIGTERM, &stop, nullptr) < 0 || ::sigaction(SIGINT, &stop, nullptr) < 0)
        throw_errno("cannot install SIGTERM/SIGINT handlers");
}

int stop_fd() noexcept { return pipe_fds[0]; }

bool stop_requested() noexcept { return stop_flag != 0; }

}  // namespace rot13
