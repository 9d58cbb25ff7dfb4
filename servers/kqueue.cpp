// rot13-kqueue: one thread, nonblocking sockets, and kqueue — the BSD and macOS answer to epoll.
//
// Verified here, on Linux, against libkqueue (kqueue's API in userspace, over epoll): the
// file is compiled against its <sys/event.h> (GCC 12 and Clang 14, warnings as errors) and
// passes every case of the conformance suite (ctest -R conformance.kqueue; the build makes
// libkqueue 2.7.0 from ../shared/third_party, cmake/Rot13Libkqueue.cmake). libkqueue forced
// two changes, both right on a real kqueue too: add_filters and delete_filters say why.
// The API use was also checked against the FreeBSD kqueue(2) manual, the kern_event.c of
// FreeBSD and OpenBSD, macOS's <sys/event.h> and libevent's kqueue.c. NOT verified: a real
// kqueue. libkqueue checks this program's logic, not a kernel's behavior; only a run of
// the conformance suite on macOS or a BSD (a CI job) can. Nor are the Linux figures
// kqueue's: they are epoll's plus libkqueue's layer, and are labelled "kqueue (libkqueue
// on Linux)" everywhere.
//
// What it demonstrates: the same event loop as rot13-epoll (level-triggered), in kqueue's
// terms. A kevent is a (descriptor, filter) pair: each connection gets two, EVFILT_READ and
// EVFILT_WRITE, both added once at accept (EV_ADD), then switched with EV_ENABLE and
// EV_DISABLE when what the connection wants changes. Like epoll, the kernel keeps the
// registrations and kevent() returns only what is ready, so a pass costs O(ready), not
// O(n); each event carries the connection pointer we stored in udata. Two differences
// from epoll show in the code: one kevent() call both applies changes and waits (we use
// it for changes alone, see set_filters), and reading and writing readiness arrive as two
// separate events, possibly in the same batch (see step 4). EV_CLEAR would be kqueue's
// edge-triggered mode; rot13-epoll --edge shows what that asks of the program.
//
// Needs: macOS, FreeBSD, OpenBSD or another BSD with a void* udata (sys/event.h), or on
// Linux libkqueue; CMake builds it only there. Run: build/bin/rot13-kqueue --port 40713
// Smoke test: printf 'Hello\n' | nc -w1 127.0.0.1 40713   # prints "Uryyb"
//
// Fixed from the book's select() listing (the book leaves kqueue to libevent): no cap at
// FD_SETSIZE, backlog 16, no SIGPIPE handling, unbounded output when a client never reads
// (we stop reading past 1 MiB of pending output), and no handling of EMFILE.
#include <sys/types.h>
#include <sys/event.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
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

class kqueue_server {
public:
    explicit kqueue_server(rot13::unique_fd listener) : listener_(std::move(listener)), queue_(::kqueue()) {
        if (!queue_) rot13::throw_errno("kqueue");
        spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        // Registered once, for the life of the server. udata is what kqueue hands back
        // with each event: nullptr marks the stop pipe, &listener_ the listener, and any
        // other value is a connection (accept_all).
        struct kevent changes[2] = {};
        EV_SET(&changes[0], rot13::stop_fd(), EVFILT_READ, EV_ADD, 0, 0, nullptr);
        EV_SET(&changes[1], listener_.get(), EVFILT_READ, EV_ADD, 0, 0, &listener_);
        if (::kevent(queue_.get(), changes, 2, nullptr, 0, &no_wait) < 0)
            rot13::throw_errno("kevent(EV_ADD)");
    }

    void run() {
        while (!rot13::stop_requested()) {
            // 1. Nothing to rebuild: the kernel keeps the registrations between calls, and
            //    step 4 changes them only for a connection whose wants changed.

            // 2. Sleep until something is ready (no changes passed, a null timeout: wait
            //    for good). Only ready kevents come back; a full array just means the rest
            //    come with the next call. EV_ERROR cannot appear: it reports failed changes.
            int n = ::kevent(queue_.get(), nullptr, 0, events_.data(), static_cast<int>(events_.size()),
                             nullptr);
            if (n < 0) {
                if (errno == EINTR) continue;
                rot13::throw_errno("kevent");
            }
            for (int i = 0; i < n; ++i) {
                void* ptr = events_[i].udata;
                if (ptr == nullptr) return;  // the stop pipe

                // 3. New connections.
                if (ptr == &listener_) {
                    accept_all();
                    continue;
                }

                // 4. Data in or out on a connection kqueue reported. Unlike epoll, reading
                //    and writing come as two events, and both may be in this batch: if the
                //    first closed the connection, the second must find it still allocated
                //    (close_later keeps it until the batch is done) and skip it.
                connection* c = static_cast<connection*>(ptr);
                if (!c->fd) continue;
                const bool wanted_read = c->wants_read();
                const bool wanted_write = c->wants_write();
                bool keep = true;
                // EV_EOF on either filter means the peer closed or reset; recv() or send()
                // then returns the EOF or the error, and the connection is closed.
                if (events_[i].filter == EVFILT_READ) keep = do_read(*c);
                // Reply at once instead of waiting for kqueue to say writable:
                // the socket almost always has room, and this saves one loop pass per line.
                if (keep && c->wants_write()) keep = do_write(*c);
                if (keep && c->peer_closed && !c->wants_write()) keep = false;
                // Tell the kernel only what changed. Most events change nothing (a line in,
                // its reply out at once), so most make no kevent() change at all: that and
                // the kernel's ready list are what make a pass O(ready) rather than O(n).
                if (keep && (c->wants_read() != wanted_read || c->wants_write() != wanted_write))
                    keep = set_filters(*c);
                if (!keep) close_later(*c);
            }
            closed_.clear();  // the batch is done: no event can name these any more
        }
    }

private:
    // Enables each filter of a connection that it wants now and disables the other. A
    // disabled filter stays registered and is not reported; enabled again, it is reported at
    // once if its condition holds (input left waiting by backpressure, for instance).
    // kevent() could take these changes with the next wait, saving this call, but a change
    // queued for a socket that is closed before that wait would fail or, if accept() reused
    // the descriptor, hit the new connection; applying it now keeps close() simple.
    // Returns false (errno set) on failure.
    bool set_filters(connection& c) {
        const int fd = c.fd.get();
        struct kevent changes[2] = {};
        EV_SET(&changes[0], fd, EVFILT_READ, c.wants_read() ? EV_ENABLE : EV_DISABLE, 0, 0, &c);
        EV_SET(&changes[1], fd, EVFILT_WRITE, c.wants_write() ? EV_ENABLE : EV_DISABLE, 0, 0, &c);
        return ::kevent(queue_.get(), changes, 2, nullptr, 0, &no_wait) == 0;
    }

    // Creates both filters of a new connection: reading on, writing off (nothing to send
    // yet). EV_ADD | EV_DISABLE in one change would say the same, and does on a real kqueue,
    // but libkqueue (kqueue's API over epoll, which Linux builds use) marks such a filter
    // disabled without taking it out of its epoll set, and then reports it on every call
    // while the socket is writable: a busy loop on every idle connection. Adding it enabled
    // and disabling it in a second change of the same call is right on both, and still one
    // kevent() call: the changes apply in order, and no event is collected in between.
    bool add_filters(connection& c) {
        const int fd = c.fd.get();
        struct kevent changes[3] = {};
        EV_SET(&changes[0], fd, EVFILT_READ, EV_ADD, 0, 0, &c);
        EV_SET(&changes[1], fd, EVFILT_WRITE, EV_ADD, 0, 0, &c);
        EV_SET(&changes[2], fd, EVFILT_WRITE, EV_DISABLE, 0, 0, &c);
        return ::kevent(queue_.get(), changes, 3, nullptr, 0, &no_wait) == 0;
    }

    // Deletes a socket's filters; call it before close(). A real kqueue deletes them itself
    // when the descriptor is closed, so there this is redundant (one more system call per
    // connection). libkqueue cannot see a close() and keeps them; the next connection that
    // accept() gives the same descriptor number would find them, its EV_ADD would fail, and
    // the connection be refused. The changes run in the order add_filters made them, and
    // kevent() stops at the first that fails, so whatever part of add_filters succeeded is
    // undone: the result can be ignored.
    void delete_filters(int fd) {
        struct kevent changes[2] = {};
        EV_SET(&changes[0], fd, EVFILT_READ, EV_DELETE, 0, 0, nullptr);
        EV_SET(&changes[1], fd, EVFILT_WRITE, EV_DELETE, 0, 0, nullptr);
        (void)::kevent(queue_.get(), changes, 2, nullptr, 0, &no_wait);
    }

    // Closes the socket now (its kevents deleted first) but frees the connection only after
    // the batch, in case a second event for it is still to come.
    void close_later(connection& c) {
        int fd = c.fd.get();
        delete_filters(fd);
        c.fd.reset();
        closed_.push_back(std::move(connections_[fd]));
    }

    void accept_all() {
        for (;;) {
            int fd = ::accept(listener_.get(), nullptr, nullptr);
            if (fd < 0) {
                if (errno == EINTR || errno == ECONNABORTED) continue;
                if (errno == EMFILE || errno == ENFILE) {
                    refuse_one_without_fds();
                    return;  // one per pass: kqueue reports the listener again if more wait
                }
                return;  // EAGAIN: the backlog is empty
            }
            rot13::set_nonblocking(fd);
            // No cap: the table grows to the largest fd, which RLIMIT_NOFILE bounds.
            if (static_cast<std::size_t>(fd) >= connections_.size()) connections_.resize(fd + 1);
            connections_[fd] = std::make_unique<connection>();
            connections_[fd]->fd.reset(fd);
            // Registered once; from now on each event names its connection through udata.
            connection* c = connections_[fd].get();
            if (!add_filters(*c)) {
                // ENOMEM: the kernel's own cap. Only this connection is refused: the next
                // one is tried again, so a passing shortage does not become a lasting cap.
                if (!reported_cap_) {
                    std::fprintf(stderr, "rot13-kqueue: connection cap: kevent(EV_ADD) failed (%s); "
                                 "closing the connections it cannot watch\n", std::strerror(errno));
                    reported_cap_ = true;
                }
                delete_filters(fd);
                connections_[fd].reset();
            }
        }
    }

    // Out of descriptors: the pending connection stays in the backlog and the listener
    // stays readable, so the loop would spin. Give up the spare descriptor, accept the
    // connection, close it (the client sees the refusal) and take the spare back.
    void refuse_one_without_fds() {
        if (!reported_emfile_) {
            std::fprintf(stderr, "rot13-kqueue: out of file descriptors (%s); refusing new connections\n",
                         std::strerror(errno));
            reported_emfile_ = true;
        }
        spare_fd_.reset();
        int fd = ::accept(listener_.get(), nullptr, nullptr);
        if (fd >= 0) ::close(fd);
        spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    }

    // A zero timeout for the calls that only apply changes (kevent() returns at once
    // anyway when it has no room for events; libevent passes a zero timeout as well).
    static constexpr timespec no_wait{};

    rot13::unique_fd listener_;
    rot13::unique_fd queue_;                                // the kqueue
    std::array<struct kevent, 256> events_{};               // filled by kevent()
    std::vector<std::unique_ptr<connection>> connections_;  // indexed by fd: owns them, never scanned
    std::vector<std::unique_ptr<connection>> closed_;       // closed during this batch, freed after it
    rot13::unique_fd spare_fd_;
    bool reported_cap_ = false;
    bool reported_emfile_ = false;
};

}  // namespace

int main(int argc, char** argv) {
    const rot13::server_spec spec{
        .program = "rot13-kqueue",
        .description = "ROT13 line server: one thread, nonblocking sockets, kqueue (macOS, BSD).",
    };
    auto opts = rot13::parse_server_options_or_exit(argc, argv, spec);
    return rot13::run_main(spec.program.data(), [&] {
        rot13::install_signal_handlers();
        rot13::unique_fd listener = rot13::open_listener(opts, /*nonblocking=*/true);
        rot13::announce_listening(listener.get());
        kqueue_server server(std::move(listener));
        server.run();
        return 0;
    });
}
