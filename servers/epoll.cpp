// rot13-epoll: one thread, nonblocking sockets, and epoll — each pass costs O(ready), not O(n).
//
// What it demonstrates: the same event loop as rot13-poll, with the list of watched sockets
// kept in the kernel instead of passed in on every call. A socket is registered once
// (EPOLL_CTL_ADD), what we want from it changes only when that changes (EPOLL_CTL_MOD), and
// epoll_wait() returns just the sockets that are ready: the kernel appends a socket to a
// ready list when a packet or an ACK wakes it, so it never looks at the idle ones. Each
// event carries the connection pointer we stored in epoll_event.data.ptr, so no table is
// searched either. With 10,000 idle connections and 10 busy ones, a pass touches 10.
//
// Level-triggered (the default, like poll()): epoll_wait() reports a socket for as long as
// it is readable or writable. Edge-triggered (--edge, EPOLLET): it reports a socket when
// its state changes (new bytes arrived, room appeared in the send buffer), once. That saves
// the kernel re-checking ready sockets and saves every EPOLL_CTL_MOD, but then the program
// must read and accept until EAGAIN, and must itself remember input it left unread (step 4).
//
// Needs: Linux (sys/epoll.h); CMake builds it only there. Run: build/bin/rot13-epoll --port 40713 [--edge]
// Smoke test: printf 'Hello\n' | nc -q1 127.0.0.1 40713   # prints "Uryyb"
//
// Fixed from the book's select() listing (the book leaves epoll to libevent): no cap at
// FD_SETSIZE, backlog 16, no SIGPIPE handling, unbounded output when a client never reads
// (we stop reading past 1 MiB of pending output), and no handling of EMFILE.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/errors.hpp"
#include "common/fd.hpp"
#include "common/listener.hpp"
#include "common/protocol.hpp"
#include "common/rot13.hpp"
#include "common/signals.hpp"

namespace {

// Everything one connection needs between two passes of the loop.
struct connection {
    rot13::unique_fd fd;
    std::string line;          // rot13 of the current line so far (never more than max_line)
    std::string output;        // replies not yet sent
    std::size_t output_sent = 0;
    bool peer_closed = false;  // read EOF: send what is left, then close

    std::size_t pending() const { return output.size() - output_sent; }
    // Backpressure: stop reading while too much output waits for a slow reader.
    bool wants_read() const { return !peer_closed && pending() <= rot13::max_pending_output; }
    bool wants_write() const { return pending() > 0; }
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

// Reads until the socket would block. Returns false when the connection must be closed.
bool do_read(connection& c) {
    char buf[16384];
    while (c.wants_read()) {
        ssize_t n = ::recv(c.fd.get(), buf, sizeof(buf), 0);
        if (n > 0) {
            consume_input(c, buf, static_cast<std::size_t>(n));
        } else if (n == 0) {
            c.peer_closed = true;  // a partial line at EOF gets no reply
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return true;
        } else if (errno != EINTR) {
            return false;  // ECONNRESET and friends
        }
    }
    return true;
}

// Sends until done or the socket would block. Returns false when the connection must be closed.
bool do_write(connection& c) {
    while (c.pending() > 0) {
        ssize_t n = ::send(c.fd.get(), c.output.data() + c.output_sent, c.pending(), 0);
        if (n >= 0) {
            c.output_sent += static_cast<std::size_t>(n);
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return true;
        } else if (errno != EINTR) {
            return false;  // EPIPE, ECONNRESET: the peer is gone
        }
    }
    // Everything is out: reset the buffer (the book wrote `= 1` here, a bug).
    c.output.clear();
    c.output_sent = 0;
    return !c.peer_closed;
}

class epoll_server {
public:
    epoll_server(rot13::unique_fd listener, bool edge)
        : listener_(std::move(listener)), edge_(edge), epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
        if (!epoll_) rot13::throw_errno("epoll_create1");
        spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        // Registered once, for the life of the server. data.ptr is what epoll hands back
        // with each event: nullptr marks the stop pipe, &listener_ the listener, and any
        // other value is a connection (accept_all).
        std::uint32_t listener_events = EPOLLIN;
        if (edge_) listener_events |= EPOLLET;
        if (!control(EPOLL_CTL_ADD, rot13::stop_fd(), EPOLLIN, nullptr) ||
            !control(EPOLL_CTL_ADD, listener_.get(), listener_events, &listener_))
            rot13::throw_errno("epoll_ctl(EPOLL_CTL_ADD)");
    }

    void run() {
        while (!rot13::stop_requested()) {
            // 1. Nothing to rebuild: the kernel keeps the interest list between calls, and
            //    step 4 changes it only for a connection whose wants changed.

            // 2. Sleep until something is ready. Only ready sockets come back; a full array
            //    just means the rest come with the next call.
            int n = ::epoll_wait(epoll_.get(), events_.data(), static_cast<int>(events_.size()), -1);
            if (n < 0) {
                if (errno == EINTR) continue;
                rot13::throw_errno("epoll_wait");
            }
            for (int i = 0; i < n; ++i) {
                void* ptr = events_[i].data.ptr;
                if (ptr == nullptr) return;  // the stop pipe

                // 3. New connections.
                if (ptr == &listener_) {
                    accept_all();
                    continue;
                }

                // 4. Data in and out on a connection epoll reported. A socket appears at
                //    most once per epoll_wait(), so closing it here leaves no stale pointer
                //    in the rest of events_.
                connection* c = static_cast<connection*>(ptr);
                const std::uint32_t ready = events_[i].events;
                const std::uint32_t before = interest(*c);
                bool keep = true;
                // EPOLLHUP and EPOLLERR are reported even when not asked for; recv() or
                // send() then returns the error or EOF, and the connection is closed.
                if (ready & (EPOLLIN | EPOLLHUP | EPOLLERR)) keep = do_read(*c);
                bool input_left = c->pending() > rot13::max_pending_output;
                // Reply at once instead of waiting for epoll to say writable:
                // the socket almost always has room, and this saves one loop pass per line.
                if (keep && c->wants_write()) keep = do_write(*c);
                // Edge-triggered only: backpressure stops do_read before EAGAIN, so input
                // may be left in the socket, and epoll will not report it again: it reports
                // changes, and a client waiting for its replies sends nothing new. Once
                // do_write has lifted the backpressure, read on here until the socket is
                // drained or backpressure stops us again. (Level-triggered, the EPOLLIN
                // turned back on below makes epoll_wait() report the waiting input.)
                while (edge_ && keep && input_left && c->wants_read()) {
                    keep = do_read(*c);
                    input_left = c->pending() > rot13::max_pending_output;
                    if (keep && c->wants_write()) keep = do_write(*c);
                }
                if (keep && c->peer_closed && !c->wants_write()) keep = false;
                // Tell the kernel only what changed. Most events change nothing (a line in,
                // its reply out at once), so most make no epoll_ctl() call at all: that and
                // the ready list are what make a pass O(ready) rather than O(n).
                if (keep && interest(*c) != before)
                    keep = control(EPOLL_CTL_MOD, c->fd.get(), interest(*c), c);
                if (!keep) connections_[c->fd.get()].reset();  // close() also removes it from epoll
            }
        }
    }

private:
    // What to ask epoll for, for one connection. Level-triggered: exactly what it wants
    // now, so that epoll_wait() never reports a socket we would not touch (an EPOLLOUT left
    // on a connection with nothing to send would be reported on every call: a busy loop).
    // Edge-triggered: both directions for good, since an edge is reported once per change:
    // an unneeded EPOLLOUT costs at most one wakeup, and no EPOLL_CTL_MOD is ever needed.
    std::uint32_t interest(const connection& c) const {
        if (edge_) return EPOLLIN | EPOLLOUT | EPOLLET;
        std::uint32_t events = 0;
        if (c.wants_read()) events |= EPOLLIN;
        if (c.wants_write()) events |= EPOLLOUT;
        return events;
    }

    // epoll_ctl() with its event filled in. Returns false (errno set) on failure.
    bool control(int op, int fd, std::uint32_t events, void* ptr) {
        epoll_event event{};
        event.events = events;
        event.data.ptr = ptr;
        return ::epoll_ctl(epoll_.get(), op, fd, &event) == 0;
    }

    void accept_all() {
        for (;;) {
            int fd = ::accept(listener_.get(), nullptr, nullptr);
            if (fd < 0) {
                if (errno == EINTR || errno == ECONNABORTED) continue;
                if (errno == EMFILE || errno == ENFILE) {
                    // Level-triggered: one per pass; epoll_wait() reports the listener again
                    // if more wait. Edge-triggered it would not (no new edge until another
                    // client connects), so refuse every waiting connection now.
                    if (refuse_one_without_fds() && edge_) continue;
                    return;
                }
                return;  // EAGAIN: the backlog is empty (edge-triggered: drained, as required)
            }
            rot13::set_nonblocking(fd);
            // No cap: the table grows to the largest fd, which RLIMIT_NOFILE bounds.
            if (static_cast<std::size_t>(fd) >= connections_.size()) connections_.resize(fd + 1);
            connections_[fd] = std::make_unique<connection>();
            connections_[fd]->fd.reset(fd);
            // Registered once; from now on each event names its connection through data.ptr.
            connection* c = connections_[fd].get();
            if (!control(EPOLL_CTL_ADD, fd, interest(*c), c)) {
                // ENOMEM, or ENOSPC past fs.epoll.max_user_watches: the kernel's own cap.
                if (!reported_cap_) {
                    std::fprintf(stderr, "rot13-epoll: connection cap: epoll_ctl(EPOLL_CTL_ADD) failed (%s); "
                                 "closing new connections\n", std::strerror(errno));
                    reported_cap_ = true;
                }
                connections_[fd].reset();
            }
        }
    }

    // Out of descriptors: the pending connection stays in the backlog and the listener
    // stays readable, so the loop would spin. Give up the spare descriptor, accept the
    // connection, close it (the client sees the refusal) and take the spare back.
    // Returns whether a connection was taken off the backlog.
    bool refuse_one_without_fds() {
        if (!reported_emfile_) {
            std::fprintf(stderr, "rot13-epoll: out of file descriptors (%s); refusing new connections\n",
                         std::strerror(errno));
            reported_emfile_ = true;
        }
        spare_fd_.reset();
        int fd = ::accept(listener_.get(), nullptr, nullptr);
        if (fd >= 0) ::close(fd);
        spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        return fd >= 0;
    }

    rot13::unique_fd listener_;
    const bool edge_;
    rot13::unique_fd epoll_;
    std::array<epoll_event, 256> events_{};                 // filled by epoll_wait()
    std::vector<std::unique_ptr<connection>> connections_;  // indexed by fd: owns them, never scanned
    rot13::unique_fd spare_fd_;
    bool reported_cap_ = false;
    bool reported_emfile_ = false;
};

}  // namespace

int main(int argc, char** argv) {
    const rot13::server_spec spec{
        .program = "rot13-epoll",
        .description = "ROT13 line server: one thread, nonblocking sockets, epoll (--edge: edge-triggered).",
        .takes_edge = true,
    };
    auto opts = rot13::parse_server_options_or_exit(argc, argv, spec);
    return rot13::run_main(spec.program.data(), [&] {
        rot13::install_signal_handlers();
        rot13::unique_fd listener = rot13::open_listener(opts, /*nonblocking=*/true);
        rot13::announce_listening(listener.get());
        epoll_server server(std::move(listener), opts.edge);
        server.run();
        return 0;
    });
}
