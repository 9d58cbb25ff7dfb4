#include <pthread.h>
#include <signal.h>

#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstddef>
#include <thread>

#include "common/errors.hpp"
#include "common/signals.hpp"

namespace rot13 {
namespace {

// Made once and never destroyed: a signal may arrive while the program exits.
wakeup* stop_pipe = nullptr;
volatile std::sig_atomic_t stop_flag = 0;

extern "C" void on_stop_signal(int) {
    stop_flag = 1;
    stop_pipe->notify();  // one write(); saves and restores errno
}

// The stop signals whose bits are set in `which` (bit i: stop_signal_numbers()[i]).
sigset_t stop_signal_set(unsigned which) {
    sigset_t set;
    sigemptyset(&set);
    for (std::size_t i = 0; i < stop_signal_numbers().size(); ++i)
        if (which & (1u << i)) sigaddset(&set, stop_signal_numbers()[i]);
    return set;
}

}  // namespace

void ignore_sigpipe() {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    if (::sigaction(SIGPIPE, &ignore, nullptr) < 0) throw_errno("cannot ignore SIGPIPE");
}

void ignore_stop_signals() {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    for (int number : stop_signal_numbers())
        if (::sigaction(number, &ignore, nullptr) < 0) throw_errno("cannot ignore the stop signals");
}

void install_signal_handlers() {
    ignore_sigpipe();
    if (!stop_pipe) stop_pipe = new wakeup();
    struct sigaction stop {};
    stop.sa_handler = on_stop_signal;
    sigemptyset(&stop.sa_mask);
    // No SA_RESTART: a blocking accept() or recv() returns EINTR so that the code around
    // it can look at stop_requested().
    stop.sa_flags = 0;
    if (::sigaction(SIGTERM, &stop, nullptr) < 0 || ::sigaction(SIGINT, &stop, nullptr) < 0)
        throw_errno("cannot install SIGTERM/SIGINT handlers");
}

void stop_when_stdin_closes() {
    std::thread([] {
        char buf[256];
        for (ssize_t n; (n = ::read(STDIN_FILENO, buf, sizeof(buf))) != 0;)
            if (n < 0 && errno != EINTR) break;
        // To the process, not this thread: whichever thread takes SIGTERM runs the handler
        // (or libevent's, or Asio's).
        ::kill(::getpid(), SIGTERM);
    }).detach();
}

socket_handle stop_fd() noexcept { return stop_pipe ? stop_pipe->readable() : invalid_socket; }

bool stop_requested() noexcept { return stop_flag != 0; }

std::span<const int> stop_signal_numbers() noexcept {
    static const int numbers[] = {SIGTERM, SIGINT};
    return numbers;
}

stop_signals_blocked::stop_signals_blocked() {
    const sigset_t all = stop_signal_set(~0u);
    sigset_t previous;
    if (::pthread_sigmask(SIG_BLOCK, &all, &previous) != 0) return;
    for (std::size_t i = 0; i < stop_signal_numbers().size(); ++i)
        if (!sigismember(&previous, stop_signal_numbers()[i])) newly_blocked_ |= 1u << i;
}

// Restores the mask as it was: a signal blocked before this one stays blocked.
stop_signals_blocked::~stop_signals_blocked() {
    if (newly_blocked_ == 0) return;
    const sigset_t set = stop_signal_set(newly_blocked_);
    ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

}  // namespace rot13
