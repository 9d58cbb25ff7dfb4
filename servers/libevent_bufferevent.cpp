// rot13-libevent-bufferevent: the libevent server once more, with bufferevents — the
// book's "simpler ROT13 server with Libevent".
//
// What it demonstrates: what a bufferevent takes off our hands. rot13-libevent-event
// keeps a line buffer, an output buffer with a send offset and two events per connection,
// and calls recv() and send() itself. Here a bufferevent owns the socket, an input and an
// output evbuffer and both events; libevent reads into the input, writes out the output,
// and calls us back with whole buffers: readcb takes lines off the input with
// evbuffer_readln() and appends their rot13 to the output. Watermarks replace the
// bookkeeping: the read high watermark keeps at most max_line bytes in the input, and the
// write low watermark tells us when a slow reader's backlog has drained (backpressure).
// The price is a copy into the evbuffers and one extra trip through the loop per reply:
// the output is sent when the socket's write event fires, not at once.
//
// No connection cap, on any backend. libevent's select backend does not use a fixed-size
// fd_set: it allocates its sets to fit the highest fd it watches and grows them (realloc)
// as fds grow, and Linux's select() takes any nfds up to the descriptor limit. One catch
// on glibc: a libevent built with _FORTIFY_SOURCE (Debian's and Ubuntu's are) has every
// FD_SET and FD_ISSET checked against FD_SETSIZE by glibc's __fdelt_chk(), which aborts
// the process at fd 1024 although libevent's set is big enough. We supply __fdelt_chk
// without that check (below), so the select backend serves 1,500 connections too.
//
// Needs: libevent 2.1 (Debian: libevent-dev). Run: build/bin/rot13-libevent-bufferevent --backend poll
// Smoke test: printf 'Hello\n' | nc -q1 127.0.0.1 40713   # prints "Uryyb"
//
// Fixed from the book's listing: it died of SIGPIPE when a client disconnected with
// replies pending. libevent writes with plain writev(), which raises SIGPIPE on a
// connection the peer has reset, and SIGPIPE's default action ends the process; libevent
// leaves signal dispositions alone. We ignore SIGPIPE, so the write fails with EPIPE, the
// bufferevent reports BEV_EVENT_ERROR, and we free that one connection. Also fixed:
// `fd > FD_SETSIZE` closed every connection past about 1024 (removed), the bufferevent
// was freed at EOF with replies still unsent (we flush first), a long line was split
// wherever a read happened to end (we split at exactly max_line bytes), backlog 16,
// unbounded output when a client never reads, and no handling of EMFILE.
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
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
struct bufferevent_deleter {
    void operator()(bufferevent* bev) const noexcept { bufferevent_free(bev); }
};
using event_ptr = std::unique_ptr<event, event_deleter>;
using event_base_ptr = std::unique_ptr<event_base, event_base_deleter>;
using bufferevent_ptr = std::unique_ptr<bufferevent, bufferevent_deleter>;

// Everything one connection needs between two callbacks. The bufferevent holds what
// rot13-libevent-event kept by hand: the socket (closed when the bufferevent is freed,
// BEV_OPT_CLOSE_ON_FREE), the line so far (in the input evbuffer), the replies not yet
// sent (in the output evbuffer) and the read and write events.
struct connection {
    bufferevent_ptr bev;
    bool peer_closed = false;  // read EOF: send what is left, then close

    evbuffer* input() const { return bufferevent_get_input(bev.get()); }
    evbuffer* output() const { return bufferevent_get_output(bev.get()); }
    std::size_t pending() const { return evbuffer_get_length(output()); }
    // Backpressure: stop reading while too much output waits for a slow reader.
    bool wants_read() const { return !peer_closed && pending() <= rot13::max_pending_output; }
    bool wants_write() const { return pending() > 0; }
};

// Turns buffered input into replies: each '\n' ends a line, and a line that reaches
// max_line bytes without one is answered as it stands (docs/protocol.md). The read high
// watermark keeps the input at most max_line bytes long, so each search for '\n' looks at
// one line's worth of bytes at most. Like evbuffer_readln() itself, the search starts at
// the front every time: a long line that arrives in many reads is rescanned once per read.
void consume_input(connection& c) {
    evbuffer* input = c.input();
    evbuffer* output = c.output();
    for (;;) {
        evbuffer_ptr newline = evbuffer_search(input, "\n", 1, nullptr);
        if (newline.pos >= 0 && static_cast<std::size_t>(newline.pos) < rot13::max_line) {
            // A whole line: evbuffer_readln() removes it and its '\n' from the input.
            std::size_t n = 0;
            char* line = evbuffer_readln(input, &n, EVBUFFER_EOL_LF);
            if (!line) return;  // out of memory: try again on the next read
            rot13::rot13_inplace({line, n});
            evbuffer_add(output, line, n);
            std::free(line);
        } else if (evbuffer_get_length(input) >= rot13::max_line) {
            // max_line bytes without '\n' (a '\n' right after them ends the next, empty line).
            char piece[rot13::max_line];
            evbuffer_remove(input, piece, sizeof(piece));
            rot13::rot13_inplace(piece);
            evbuffer_add(output, piece, sizeof(piece));
        } else {
            return;  // a partial line: wait for more (at EOF it gets no reply)
        }
        evbuffer_add(output, "\n", 1);
    }
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
    static void on_read(bufferevent* bev, void* arg) {
        static_cast<libevent_server*>(arg)->handle_read(bufferevent_getfd(bev));
    }
    static void on_write(bufferevent* bev, void* arg) {
        static_cast<libevent_server*>(arg)->handle_write(bufferevent_getfd(bev));
    }
    static void on_event(bufferevent* bev, short what, void* arg) {
        static_cast<libevent_server*>(arg)->handle_event(bufferevent_getfd(bev), what);
    }
    static void on_stop_signal(evutil_socket_t, short, void* arg) {
        event_base_loopbreak(static_cast<event_base*>(arg));
    }

    // 4a. libevent has read into the input buffer: answer every complete line. Past 1 MiB
    //     of unsent replies, stop reading (backpressure) until handle_write says it drained.
    void handle_read(int fd) {
        connection& c = *connections_[fd];
        consume_input(c);
        if (!c.wants_read()) bufferevent_disable(c.bev.get(), EV_READ);
    }

    // 4b. libevent has written, and the output is down to the write low watermark
    //     (max_pending_output) or below. With the default low watermark of 0 this would run
    //     only once the output is empty, and a throttled client would sit idle while its
    //     last megabyte drains; at max_pending_output, reading resumes as soon as the
    //     backlog is back under the limit, exactly when rot13-select resumes.
    void handle_write(int fd) {
        connection& c = *connections_[fd];
        if (c.peer_closed && !c.wants_write()) {
            connections_[fd].reset();  // every reply is out: free the bufferevent, close the socket
        } else if (c.wants_read() && !(bufferevent_get_enabled(c.bev.get()) & EV_READ)) {
            bufferevent_enable(c.bev.get(), EV_READ);
        }
    }

    // 4c. EOF or an error. EOF while reading means the client has finished sending: the
    //     replies for its complete lines must still go out, so an unflushed connection
    //     stays until handle_write sees the output empty (the book freed it at once).
    //     Anything else (ECONNRESET, EPIPE, EOF while writing) means the peer is gone.
    void handle_event(int fd, short what) {
        connection& c = *connections_[fd];
        if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_READING) && !(what & BEV_EVENT_ERROR)) {
            c.peer_closed = true;  // libevent has disabled reading; a partial line gets no reply
            if (c.wants_write()) return;
        }
        connections_[fd].reset();  // frees the bufferevent, which closes the socket
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
            if (evutil_make_socket_nonblocking(fd) == 0)
                c->bev.reset(bufferevent_socket_new(base_.get(), fd, BEV_OPT_CLOSE_ON_FREE));
            if (!c->bev) {
                ::close(fd);  // no bufferevent owns it yet
                report_refusal();
                continue;
            }
            bufferevent_setcb(c->bev.get(), on_read, on_write, on_event, this);
            // Read high watermark: libevent stops reading while max_line bytes wait in the
            // input, so the input never holds more than one line's worth.
            bufferevent_setwatermark(c->bev.get(), EV_READ, 0, rot13::max_line);
            // Write low watermark: on_write runs whenever the output drains to 1 MiB or
            // less (see handle_write).
            bufferevent_setwatermark(c->bev.get(), EV_WRITE, rot13::max_pending_output, 0);
            if (bufferevent_enable(c->bev.get(), EV_READ | EV_WRITE) < 0) {
                report_refusal();
                continue;  // c frees the bufferevent, which closes the socket
            }
            if (static_cast<std::size_t>(fd) >= connections_.size()) connections_.resize(fd + 1);
            connections_[fd] = std::move(c);
        }
    }

    void report_refusal() {
        if (!reported_refusal_) {
            std::fprintf(stderr,
                         "rot13-libevent-bufferevent: cannot set up a connection with libevent; "
                         "closing it\n");
            reported_refusal_ = true;
        }
    }

    // Out of descriptors: the pending connection stays in the backlog and the listener
    // stays readable, so the loop would spin. Give up the spare descriptor, accept the
    // connection, close it (the client sees the refusal) and take the spare back. Note that
    // bufferevent_free() closes its socket in a finalizer that runs later in the same loop
    // pass: a connection that arrives while others close can be refused although their
    // descriptors are about to come free (rot13-select refuses it too: it accepts first).
    void refuse_one_without_fds() {
        if (!reported_emfile_) {
            std::fprintf(
                stderr,
                "rot13-libevent-bufferevent: out of file descriptors (%s); refusing new connections\n",
                std::strerror(errno));
            reported_emfile_ = true;
        }
        spare_fd_.reset();
        int fd = ::accept(listener_.get(), nullptr, nullptr);
        if (fd >= 0) ::close(fd);
        spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    }

    // Destroyed in reverse order: connections, then the other events, then the base
    // (event_base_free also runs the bufferevents' deferred cleanup, which closes sockets).
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
        .program = "rot13-libevent-bufferevent",
        .description =
            "ROT13 line server: libevent bufferevents and evbuffer_readln() (the book's design 5).",
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
        rot13::ignore_sigpipe();  // the book's bug; SIGTERM and SIGINT go through libevent (evsignal_new)
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
