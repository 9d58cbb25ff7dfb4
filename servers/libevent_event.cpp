// rot13-libevent-event: the select() server on libevent's lowest layer — the book's
// "low-level ROT13 server with Libevent".
//
// What it demonstrates: the event loop is no longer ours. Instead of rebuilding fd_sets on
// every pass, each connection registers two persistent events with an event_base, one for
// "readable" and one for "writable", and libevent calls us back when one fires. The base
// runs on select(), poll(), epoll, kqueue, ... (--backend picks one), so the same code
// above it measures every mechanism. The per-connection state and the protocol code are
// rot13-select's; what changed is who waits and how we tell it what to wait for: the write
// event is added only while output is pending, and the read event is removed while more
// than 1 MiB of replies waits for a slow reader (backpressure).
//
// No connection cap, on any backend. libevent's select backend does not use a fixed-size
// fd_set: it allocates its sets to fit the highest fd it watches and grows them (realloc)
// as fds grow, and Linux's select() takes any nfds up to the descriptor limit. One catch
// on glibc: a libevent built with _FORTIFY_SOURCE (Debian's and Ubuntu's are) has every
// FD_SET and FD_ISSET checked against FD_SETSIZE by glibc's __fdelt_chk(), which aborts
// the process at fd 1024 although libevent's set is big enough. We supply __fdelt_chk
// without that check (below), so the select backend serves 1,500 connections too.
//
// Needs: libevent 2.1 (Debian: libevent-dev). Run: build/bin/rot13-libevent-event --backend poll
// Smoke test: printf 'Hello\n' | nc -q1 127.0.0.1 40713   # prints "Uryyb"
//
// Fixed from the book's listing: `fd > FD_SETSIZE` closed every connection past about
// 1024 (a leftover from the select() version; removed), the counters were reset to 1
// instead of 0 after a write, the state was freed without closing the socket and before
// the pending replies were sent, a line longer than MAX_LINE lost its tail, backlog 16,
// no SIGPIPE handling, unbounded output when a client never reads, and no handling of
// EMFILE.
#include <event2/event.h>
#include <fcntl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/errors.hpp"
#include "common/fd.hpp"
#include "common/listener.hpp"
#include "common/protocol.hpp"
#include "common/rot13.hpp"
#include "common/signals.hpp"

// glibc's _FORTIFY_SOURCE version of FD_SET/FD_ISSET calls __fdelt_chk(fd) to find the
// word of the fd_set that holds fd, and aborts when fd >= FD_SETSIZE. libevent's select
// backend sizes its sets for the highest fd, so that check is wrong there. Defining the
// function in the program makes the dynamic linker bind libevent's calls to this one,
// which computes the same index without the check. Nothing else in this program uses
// fd_sets; on a C library without __fdelt_chk the function is simply never called.
extern "C" long __fdelt_chk(long fd) noexcept {
    return fd / NFDBITS;
}

namespace {

struct event_deleter {
    void operator()(event* ev) const noexcept { event_free(ev); }
};
struct event_base_deleter {
    void operator()(event_base* base) const noexcept { event_base_free(base); }
};
struct event_config_deleter {
    void operator()(event_config* config) const noexcept { event_config_free(config); }
};
using event_ptr = std::unique_ptr<event, event_deleter>;
using event_base_ptr = std::unique_ptr<event_base, event_base_deleter>;

// Everything one connection needs between two callbacks.
struct connection {
    rot13::unique_fd fd;    // declared first, so it is closed after the events are freed
    event_ptr read_event;   // EV_READ|EV_PERSIST, added while wants_read()
    event_ptr write_event;  // EV_WRITE|EV_PERSIST, added only while wants_write()
    std::string line;       // rot13 of the current line so far (never more than max_line)
    std::string output;     // replies not yet sent
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

// Adds ev to the event_base while it is wanted and removes it when not. libevent only
// calls back for added events, so this is how we say "wait for writable" (only while
// output is pending) and "stop reading" (backpressure). Returns false if libevent refused.
bool watch(event* ev, bool wanted) {
    bool added = event_pending(ev, EV_READ | EV_WRITE, nullptr) != 0;
    if (wanted == added) return true;
    return (wanted ? event_add(ev, nullptr) : event_del(ev)) == 0;
}

// The methods compiled into this libevent, e.g. {"epoll", "poll", "select"}.
std::vector<std::string> supported_backends() {
    std::vector<std::string> names;
    for (const char** method = event_get_supported_methods(); method && *method; ++method)
        names.emplace_back(*method);
    return names;
}

// An event_base on exactly the named method. libevent has no "use this one" switch, so we
// tell it to avoid every other method it has. An empty name leaves the choice to libevent.
event_base_ptr new_event_base(const std::string& backend) {
    std::unique_ptr<event_config, event_config_deleter> config(event_config_new());
    if (!config) throw std::runtime_error("event_config_new failed");
    if (!backend.empty()) {
        for (const std::string& method : supported_backends())
            if (method != backend) event_config_avoid_method(config.get(), method.c_str());
    }
    event_base_ptr base(event_base_new_with_config(config.get()));
    if (!base)
        throw std::runtime_error("cannot create an event_base" + (backend.empty() ? "" : " on " + backend));
    return base;
}

class libevent_server {
public:
    libevent_server(event_base_ptr base, rot13::unique_fd listener)
        : base_(std::move(base)), listener_(std::move(listener)) {
        spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        // 1. The listener's event is persistent: one event_add serves every accept.
        listener_event_.reset(
            event_new(base_.get(), listener_.get(), EV_READ | EV_PERSIST, on_acceptable, this));
        // 2. SIGTERM and SIGINT become events of the loop: libevent's handler only wakes
        //    the loop, and our callback then runs like any other and breaks it.
        sigterm_event_.reset(evsignal_new(base_.get(), SIGTERM, on_stop_signal, base_.get()));
        sigint_event_.reset(evsignal_new(base_.get(), SIGINT, on_stop_signal, base_.get()));
        for (event* ev : {listener_event_.get(), sigterm_event_.get(), sigint_event_.get()})
            if (!ev || event_add(ev, nullptr) < 0)
                throw std::runtime_error("cannot register the listener and signal events");
    }

    const char* backend() const { return event_base_get_method(base_.get()); }

    // 3. libevent's loop runs until a stop signal breaks it. Every callback below does
    //    only work that cannot block, as in rot13-select.
    void run() {
        if (event_base_dispatch(base_.get()) < 0) throw std::runtime_error("event_base_dispatch failed");
        // Stopping. Freeing a signal event gives the signal its earlier action back, the
        // default one, which for SIGTERM is death; a second stop request during the rest
        // of the shutdown (rot13-bench closes our stdin and sends SIGTERM) would then kill
        // us on our way out. So free them now and ignore those signals from here on.
        sigterm_event_.reset();
        sigint_event_.reset();
        rot13::ignore_stop_signals();
    }

private:
    // libevent is C: these static functions are its callbacks, and arg is the server.
    // No exception may cross libevent's C frames: nothing below throws (running out of
    // memory would end the process anyway).
    static void on_acceptable(evutil_socket_t, short, void* arg) {
        static_cast<libevent_server*>(arg)->accept_all();
    }
    static void on_io(evutil_socket_t fd, short what, void* arg) {
        static_cast<libevent_server*>(arg)->handle_io(fd, what);
    }
    static void on_stop_signal(evutil_socket_t, short, void* arg) {
        event_base_loopbreak(static_cast<event_base*>(arg));
    }

    // 4. Data in and out on the connection whose event fired (what: EV_READ or EV_WRITE).
    void handle_io(int fd, short what) {
        connection& c = *connections_[fd];
        bool keep = true;
        if (what & EV_READ) keep = do_read(c);
        // Reply at once instead of waiting for the write event: the socket almost always
        // has room, and this saves one trip through the loop per line.
        if (keep && c.wants_write()) keep = do_write(c);
        if (keep && c.peer_closed && !c.wants_write()) keep = false;
        // Tell libevent what the connection can use now.
        if (keep)
            keep = watch(c.read_event.get(), c.wants_read()) && watch(c.write_event.get(), c.wants_write());
        if (!keep) connections_[fd].reset();  // frees both events, then closes the socket
    }

    void accept_all() {
        for (;;) {
            int fd = ::accept(listener_.get(), nullptr, nullptr);
            if (fd < 0) {
                if (errno == EINTR || errno == ECONNABORTED) continue;
                if (errno == EMFILE || errno == ENFILE) {
                    refuse_one_without_fds();
                    return;  // one per callback: the listener's event fires again if more wait
                }
                return;  // EAGAIN: the backlog is empty
            }
            // The book closed fd > FD_SETSIZE here, copied from the select() server. libevent
            // has no such limit (see the top of this file), so every connection is served.
            auto c = std::make_unique<connection>();
            c->fd.reset(fd);
            c->read_event.reset(event_new(base_.get(), fd, EV_READ | EV_PERSIST, on_io, this));
            c->write_event.reset(event_new(base_.get(), fd, EV_WRITE | EV_PERSIST, on_io, this));
            if (evutil_make_socket_nonblocking(fd) < 0 || !c->read_event || !c->write_event ||
                event_add(c->read_event.get(), nullptr) < 0) {
                report_refusal();
                continue;  // c frees its events and closes the socket
            }
            if (static_cast<std::size_t>(fd) >= connections_.size()) connections_.resize(fd + 1);
            connections_[fd] = std::move(c);
        }
    }

    void report_refusal() {
        if (!reported_refusal_) {
            std::fprintf(stderr,
                         "rot13-libevent-event: cannot set up a connection with libevent; "
                         "closing it\n");
            reported_refusal_ = true;
        }
    }

    // Out of descriptors: the pending connection stays in the backlog and the listener
    // stays readable, so the loop would spin. Give up the spare descriptor, accept the
    // connection, close it (the client sees the refusal) and take the spare back.
    void refuse_one_without_fds() {
        if (!reported_emfile_) {
            std::fprintf(stderr,
                         "rot13-libevent-event: out of file descriptors (%s); refusing new connections\n",
                         std::strerror(errno));
            reported_emfile_ = true;
        }
        spare_fd_.reset();
        int fd = ::accept(listener_.get(), nullptr, nullptr);
        if (fd >= 0) ::close(fd);
        spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    }

    // Destroyed in reverse order: connections, then the other events, then the base.
    event_base_ptr base_;
    rot13::unique_fd listener_;
    event_ptr listener_event_;
    event_ptr sigterm_event_;
    event_ptr sigint_event_;
    std::vector<std::unique_ptr<connection>> connections_;  // indexed by fd, grown as needed
    rot13::unique_fd spare_fd_;
    bool reported_refusal_ = false;
    bool reported_emfile_ = false;
};

}  // namespace

int main(int argc, char** argv) {
    const rot13::server_spec spec{
        .program = "rot13-libevent-event",
        .description =
            "ROT13 line server: libevent's event_new/event_add on one event_base (the book's design 4).",
        .takes_backend = true,
        .backend_help = "libevent method: select|poll|epoll|kqueue|... (default: libevent's choice)",
    };
    auto opts = rot13::parse_server_options_or_exit(argc, argv, spec);
    std::vector<std::string> backends = supported_backends();
    if (!opts.backend.empty() &&
        std::find(backends.begin(), backends.end(), opts.backend) == backends.end()) {
        std::string list;
        for (const std::string& name : backends) list += (list.empty() ? "" : ", ") + name;
        std::fprintf(stderr, "%s: backend '%s' is not supported by this libevent (supported: %s)\n",
                     spec.program.data(), opts.backend.c_str(), list.c_str());
        return 2;
    }
    int status = rot13::run_main(spec.program.data(), [&] {
        rot13::ignore_sigpipe();  // SIGTERM and SIGINT go through libevent (evsignal_new)
        rot13::unique_fd listener = rot13::open_listener(opts, /*nonblocking=*/true);
        const int listener_fd = listener.get();
        // Announce only once the signal events are registered, so that a SIGTERM sent
        // right after the readiness line already stops us gracefully.
        libevent_server server(new_event_base(opts.backend), std::move(listener));
        std::fprintf(stderr, "%s: backend %s\n", spec.program.data(), server.backend());
        rot13::announce_listening(listener_fd);
        server.run();
        return 0;
    });
    libevent_global_shutdown();  // after every base is freed: releases libevent's globals
    return status;
}
