// rot13-select: one thread, nonblocking sockets, and select() — the book's third design.
//
// What it demonstrates: a single-threaded event loop. Every socket is nonblocking; each
// pass of the loop rebuilds the fd_sets from scratch, asks select() which sockets are
// ready, and does only the work that cannot block. The state that the forking server
// kept on its stack (the line so far, what is left to send) lives in a per-connection
// struct instead. Cost: select() scans every fd up to the largest one on every call, and
// an fd_set holds only fds below FD_SETSIZE (1024 on Linux). That is a hard cap on
// connections: past it we close the new connection and say so once on stderr.
//
// Needs: POSIX sockets and select(). Run: build/bin/rot13-select --port 40713
// Smoke test: printf 'Hello\n' | nc -q1 127.0.0.1 40713   # prints "Uryyb"
//
// Fixed from the book's listing: `fd > FD_SETSIZE` was off by one (fd == FD_SETSIZE
// overflowed the fd_set), backlog 16, no SIGPIPE handling, unbounded output when a client
// never reads (we stop reading past 1 MiB of pending output), and no handling of EMFILE.
#include <sys/select.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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

class select_server {
public:
    explicit select_server(rot13::unique_fd listener)
        : listener_(std::move(listener)), connections_(FD_SETSIZE) {
        spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    }

    void run() {
        const int stop = rot13::stop_fd();
        while (!rot13::stop_requested()) {
            // 1. Rebuild the sets: select() overwrites them with its answer every time.
            fd_set readable, writable;
            FD_ZERO(&readable);
            FD_ZERO(&writable);
            FD_SET(listener_.get(), &readable);
            FD_SET(stop, &readable);
            int max_fd = std::max(listener_.get(), stop);
            for (int fd = 0; fd < FD_SETSIZE; ++fd) {
                connection* c = connections_[fd].get();
                if (!c) continue;
                if (c->wants_read()) FD_SET(fd, &readable);
                if (c->wants_write()) FD_SET(fd, &writable);
                max_fd = std::max(max_fd, fd);
            }

            // 2. Sleep until something is ready. The kernel scans fds 0..max_fd.
            if (::select(max_fd + 1, &readable, &writable, nullptr, nullptr) < 0) {
                if (errno == EINTR) continue;
                rot13::throw_errno("select");
            }
            if (FD_ISSET(stop, &readable)) break;

            // 3. New connections.
            if (FD_ISSET(listener_.get(), &readable)) accept_all();

            // 4. Data in and out on the connections select() reported.
            for (int fd = 0; fd <= max_fd; ++fd) {
                connection* c = connections_[fd].get();
                if (!c) continue;
                bool keep = true;
                if (FD_ISSET(fd, &readable)) keep = do_read(*c);
                // Reply at once instead of waiting for the next select() to say writable:
                // the socket almost always has room, and this saves one loop pass per line.
                if (keep && c->wants_write()) keep = do_write(*c);
                if (keep && c->peer_closed && !c->wants_write()) keep = false;
                if (!keep) connections_[fd].reset();  // closes the socket
            }
        }
    }

private:
    void accept_all() {
        for (;;) {
            int fd = ::accept(listener_.get(), nullptr, nullptr);
            if (fd < 0) {
                if (errno == EINTR || errno == ECONNABORTED) continue;
                if (errno == EMFILE || errno == ENFILE) {
                    refuse_one_without_fds();
                    return;  // one per pass: select() reports the listener again if more wait
                }
                return;  // EAGAIN: the backlog is empty
            }
            if (fd >= FD_SETSIZE) {
                // An fd_set has no bit for this fd: FD_SET would write past its end.
                if (!reported_cap_) {
                    std::fprintf(stderr, "rot13-select: connection cap: select() cannot watch fd >= FD_SETSIZE (%d); "
                                 "closing new connections until fds free up\n", FD_SETSIZE);
                    reported_cap_ = true;
                }
                ::close(fd);
                continue;
            }
            rot13::set_nonblocking(fd);
            connections_[fd] = std::make_unique<connection>();
            connections_[fd]->fd.reset(fd);
        }
    }

    // Out of descriptors: the pending connection stays in the backlog and the listener
    // stays readable, so the loop would spin. Give up the spare descriptor, accept the
    // connection, close it (the client sees the refusal) and take the spare back.
    void refuse_one_without_fds() {
        if (!reported_emfile_) {
            std::fprintf(stderr, "rot13-select: out of file descriptors (%s); refusing new connections\n",
                         std::strerror(errno));
            reported_emfile_ = true;
        }
        spare_fd_.reset();
        int fd = ::accept(listener_.get(), nullptr, nullptr);
        if (fd >= 0) ::close(fd);
        spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    }

    rot13::unique_fd listener_;
    std::vector<std::unique_ptr<connection>> connections_;  // indexed by fd, like the book's state[]
    rot13::unique_fd spare_fd_;
    bool reported_cap_ = false;
    bool reported_emfile_ = false;
};

}  // namespace

int main(int argc, char** argv) {
    const rot13::server_spec spec{
        .program = "rot13-select",
        .description = "ROT13 line server: one thread, nonblocking sockets, select() (the book's design 3).",
    };
    auto opts = rot13::parse_server_options_or_exit(argc, argv, spec);
    return rot13::run_main(spec.program.data(), [&] {
        rot13::install_signal_handlers();
        rot13::unique_fd listener = rot13::open_listener(opts, /*nonblocking=*/true);
        rot13::announce_listening(listener.get());
        select_server server(std::move(listener));
        server.run();
        return 0;
    });
}
