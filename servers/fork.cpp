// rot13-fork: one process per connection, blocking I/O — the book's first design.
//
// What it demonstrates: the simplest way to serve many clients at once. The parent only
// accepts; for each connection it fork()s a child that reads, answers and writes with
// plain blocking calls, as if it had just one client. The state of a connection is the
// child's stack, and a blocked child blocks nobody else. Cost: a process per connection
// (fork(), page tables, a kernel task, a context switch per wakeup), and the parent has
// to reap every child it makes.
//
// Needs: POSIX (fork, sigaction, poll). Run: build/bin/rot13-fork --port 40713
// Smoke test: printf 'Hello\n' | nc -q1 127.0.0.1 40713   # prints "Uryyb"
//
// Backpressure holds by construction: a child sends every reply it owes (blocking) before
// it reads again, so at most one 16 KiB chunk's worth of output is ever pending, far below
// max_pending_output. A client that never reads fills the socket buffers, our send()
// blocks, we stop reading, and TCP flow control stops the client.
//
// Fixed from the book's listing: it read one byte per recv() (one system call per byte;
// we read 16 KiB chunks), the parent never closed the accepted socket (one descriptor
// leaked per connection until accept() failed with EMFILE), children were never reaped
// (one zombie per connection, until fork() failed), the child kept the listener, send()
// results were ignored (a partial send lost bytes), backlog 16, no SIGPIPE handling, no
// EMFILE handling, and no way to stop.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>

#include "common/cli.hpp"
#include "common/errors.hpp"
#include "common/fd.hpp"
#include "common/listener.hpp"
#include "common/protocol.hpp"
#include "common/rot13.hpp"
#include "common/signals.hpp"

namespace {

// Everything one connection needs; it lives on the stack of the child serving it.
struct connection {
    rot13::unique_fd fd;
    std::string line;    // rot13 of the current line so far (never more than max_line)
    std::string output;  // replies to send before the next recv()
};

// Turns received bytes into replies: each '\n' ends a line, and a line that reaches
// max_line bytes without one is answered as it stands (docs/protocol.md).
void consume_input(connection& c, const char* data, std::size_t n) {
    while (n > 0) {
        std::size_t scan = std::min(n, rot13::max_line - c.line.size());
        auto* newline = static_cast<const char*>(std::memchr(data, '\n', scan));
        std::size_t take = newline ? static_cast<std::size_t>(newline - data) : scan;
        std::size_t old_size = c.line.size();
        c.line.resize(old_size + take);
        rot13::rot13_copy({data, take}, c.line.data() + old_size);
        data += take;
        n -= take;
        if (newline) {  // skip the '\n' itself
            ++data;
            --n;
        }
        if (newline || c.line.size() == rot13::max_line) {
            c.output += c.line;
            c.output += '\n';
            c.line.clear();
        }
    }
}

// Sends all of c.output, blocking as long as the client does not read. Returns false when
// the connection must be closed (EPIPE, ECONNRESET).
bool send_all(connection& c) {
    std::size_t sent = 0;
    while (sent < c.output.size()) {
        ssize_t n = ::send(c.fd.get(), c.output.data() + sent, c.output.size() - sent, 0);
        if (n >= 0) {
            sent += static_cast<std::size_t>(n);
        } else if (errno != EINTR) {
            return false;
        }
    }
    c.output.clear();
    return true;
}

// Serves one connection to its end: read a chunk of up to 16 KiB, answer every line it
// completes, send all of that, repeat. The book read one byte per recv(), one system call
// per byte. Because nothing more is read until the replies are out, pending output never
// exceeds one chunk's worth (16 KiB plus a '\n'): the 1 MiB rule holds by construction.
void serve(connection& c) {
    char buf[16384];
    for (;;) {
        ssize_t n = ::recv(c.fd.get(), buf, sizeof(buf), 0);
        if (n > 0) {
            consume_input(c, buf, static_cast<std::size_t>(n));
            if (!send_all(c)) return;
        } else if (n == 0) {
            return;  // EOF: complete lines are all answered; a partial line gets no reply
        } else if (errno != EINTR) {
            return;  // ECONNRESET and friends
        }
    }
}

// accept() does not pass O_NONBLOCK from the listener to the new socket on Linux, but it
// does on the BSDs and macOS; this design needs blocking sockets, so say so explicitly.
void make_blocking(int fd) {
    int flags = ::fcntl(fd, F_GETFL, 0);
    if (flags >= 0 && (flags & O_NONBLOCK)) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
}

// Reaping children. The choice: a SIGCHLD handler that writes a byte to a pipe (the same
// self-pipe trick as the stop signal), so the accept loop's poll() wakes the moment a child
// exits and reaps it with waitpid(WNOHANG). Calling waitpid(WNOHANG) only after accept()
// would leave every finished child a zombie until the next client arrived; ignoring SIGCHLD
// (auto-reaping) would leave us unable to tell which pids are still ours to stop on SIGTERM.
int child_exit_pipe[2] = {-1, -1};

extern "C" void on_sigchld(int) {
    int saved_errno = errno;
    char byte = 1;
    [[maybe_unused]] auto ignored = ::write(child_exit_pipe[1], &byte, 1);
    errno = saved_errno;
}

void install_sigchld_handler() {
    if (::pipe(child_exit_pipe) < 0) rot13::throw_errno("cannot create the child-exit pipe");
    for (int fd : child_exit_pipe) {
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    struct sigaction action {};
    action.sa_handler = on_sigchld;
    sigemptyset(&action.sa_mask);
    // SA_NOCLDSTOP: a stopped child has not exited. SA_RESTART: blocking calls in the
    // parent (waitpid() at shutdown) are not interrupted by it; poll() wakes regardless.
    action.sa_flags = SA_NOCLDSTOP | SA_RESTART;
    if (::sigaction(SIGCHLD, &action, nullptr) < 0) rot13::throw_errno("cannot install the SIGCHLD handler");
}

class fork_server {
public:
    explicit fork_server(rot13::unique_fd listener) : listener_(std::move(listener)) {
        spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    }

    void run() {
        // The listener is nonblocking, and the parent waits in poll() instead of accept():
        // so the stop pipe wakes it, and so does the child-exit pipe.
        pollfd fds[3] = {{listener_.get(), POLLIN, 0}, {rot13::stop_fd(), POLLIN, 0},
                         {child_exit_pipe[0], POLLIN, 0}};
        while (!rot13::stop_requested()) {
            if (::poll(fds, 3, -1) < 0) {
                if (errno == EINTR) continue;
                rot13::throw_errno("poll");
            }
            if (fds[1].revents) break;
            if (fds[2].revents) reap_children();
            if (fds[0].revents) accept_all();
        }
        stop_all();
    }

private:
    void accept_all() {
        for (;;) {
            int fd = ::accept(listener_.get(), nullptr, nullptr);
            if (fd < 0) {
                if (errno == EINTR || errno == ECONNABORTED) continue;
                if (errno == EMFILE || errno == ENFILE) {
                    refuse_one_without_fds();
                    return;  // one per pass: poll() reports the listener again if more wait
                }
                return;  // EAGAIN: the backlog is empty
            }
            make_blocking(fd);
            start_child(rot13::unique_fd(fd));
        }
    }

    // The lifecycle of a child:
    //   1. The parent blocks SIGTERM, SIGINT and SIGCHLD, forks, and records the pid before
    //      unblocking them, so a stop request always finds every child in children_.
    //   2. The child closes what belongs to the parent (the listener, the spare fd, the
    //      stop pipe's read end, the child-exit pipe), restores the default actions of
    //      those signals and only then unblocks them: a SIGTERM that arrived in between was
    //      held pending and now kills the child, instead of running the parent's handler,
    //      which would write to the stop pipe that the child shares with the parent.
    //   3. The child serves its connection and _exit()s: no atexit handlers, no stdio
    //      buffers flushed twice, no destructors of the parent's objects.
    //   4. The parent closes its copy of the socket at once (the book leaked it), and
    //      reaps the child when the child-exit pipe says it is gone.
    void start_child(rot13::unique_fd fd) {
        sigset_t blocked, previous;
        sigemptyset(&blocked);
        sigaddset(&blocked, SIGTERM);
        sigaddset(&blocked, SIGINT);
        sigaddset(&blocked, SIGCHLD);
        ::sigprocmask(SIG_BLOCK, &blocked, &previous);
        pid_t pid = ::fork();
        int fork_error = errno;
        if (pid == 0) {
            listener_.reset();
            spare_fd_.reset();
            ::close(rot13::stop_fd());
            ::close(child_exit_pipe[0]);
            ::close(child_exit_pipe[1]);
            std::signal(SIGTERM, SIG_DFL);
            std::signal(SIGINT, SIG_DFL);
            std::signal(SIGCHLD, SIG_DFL);
            ::sigprocmask(SIG_SETMASK, &previous, nullptr);
            run_child(std::move(fd));
        }
        if (pid > 0) children_.insert(pid);
        ::sigprocmask(SIG_SETMASK, &previous, nullptr);
        if (pid < 0 && !reported_fork_failure_) {
            // EAGAIN: the process limit (RLIMIT_NPROC) or memory. The connection is closed
            // (fd's destructor); the server goes on, and this is said once.
            std::fprintf(stderr, "rot13-fork: cannot fork (%s); closing new connections until children exit\n",
                         std::strerror(fork_error));
            reported_fork_failure_ = true;
        }
    }  // fd's destructor closes the parent's copy: the child has its own

    // noexcept: an exception must not unwind out of here into the child's copy of the
    // parent's accept loop; std::terminate() ends the child instead.
    [[noreturn]] static void run_child(rot13::unique_fd fd) noexcept {
        connection c;
        c.fd = std::move(fd);
        serve(c);
        ::_exit(0);
    }

    void reap_children() {
        char drain[256];
        while (::read(child_exit_pipe[0], drain, sizeof(drain)) > 0) {}
        // One SIGCHLD may stand for several exits (signals do not queue): reap them all.
        pid_t pid;
        while ((pid = ::waitpid(-1, nullptr, WNOHANG)) > 0) children_.erase(pid);
    }

    // SIGTERM: 1. stop accepting; 2. SIGTERM every child, which kills it at once (children
    // run with the default action), wherever it is blocked; 3. reap them all.
    void stop_all() {
        listener_.reset();
        for (pid_t pid : children_) ::kill(pid, SIGTERM);
        while (!children_.empty()) {
            pid_t pid = ::waitpid(-1, nullptr, 0);
            if (pid > 0) {
                children_.erase(pid);
            } else if (errno != EINTR) {
                break;  // ECHILD: nothing left to wait for
            }
        }
    }

    // Out of descriptors: the pending connection stays in the backlog and the listener
    // stays readable, so the loop would spin. Give up the spare descriptor, accept the
    // connection, close it (the client sees the refusal) and take the spare back.
    void refuse_one_without_fds() {
        if (!reported_emfile_) {
            std::fprintf(stderr, "rot13-fork: out of file descriptors (%s); refusing new connections\n",
                         std::strerror(errno));
            reported_emfile_ = true;
        }
        spare_fd_.reset();
        int fd = ::accept(listener_.get(), nullptr, nullptr);
        if (fd >= 0) ::close(fd);
        spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    }

    rot13::unique_fd listener_;
    rot13::unique_fd spare_fd_;
    std::set<pid_t> children_;  // forked and not yet reaped
    bool reported_fork_failure_ = false;
    bool reported_emfile_ = false;
};

}  // namespace

int main(int argc, char** argv) {
    const rot13::server_spec spec{
        .program = "rot13-fork",
        .description = "ROT13 line server: one process per connection, blocking I/O (the book's design 1).",
    };
    auto opts = rot13::parse_server_options_or_exit(argc, argv, spec);
    return rot13::run_main(spec.program.data(), [&] {
        rot13::install_signal_handlers();
        install_sigchld_handler();
        rot13::unique_fd listener = rot13::open_listener(opts, /*nonblocking=*/true);
        rot13::announce_listening(listener.get());
        fork_server server(std::move(listener));
        server.run();
        return 0;
    });
}
