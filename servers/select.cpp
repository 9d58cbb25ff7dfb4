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
// On Windows the same file builds against Winsock (common/socket.hpp hides the socket
// type, closesocket() and WSAGetLastError()). There an fd_set is not a bitmap but an array
// of up to FD_SETSIZE sockets, FD_ISSET searches it, and select() ignores its first
// argument; the cap is on how many sockets a set holds, and this build sets FD_SETSIZE to
// 1024 (Winsock's default is 64), so that it is 1022 connections besides the listener and
// the stop socket on both systems. That is also why the connections are kept in a list and
// not in a table indexed by descriptor number as the book's state[] was: a SOCKET is a
// handle whose value says nothing about how many are open.
//
// Needs: POSIX sockets or Winsock, and select(). Run: build/bin/rot13-select --port 40713
// Smoke test: printf 'Hello\n' | nc -q1 127.0.0.1 40713   # prints "Uryyb"
//
// Fixed from the book's listing: `fd > FD_SETSIZE` was off by one (fd == FD_SETSIZE
// overflowed the fd_set), backlog 16, no SIGPIPE handling, unbounded output when a client
// never reads (we stop reading past 1 MiB of pending output), and no handling of EMFILE.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <list>
#include <string>

#include "common/cli.hpp"
#include "common/errors.hpp"
#include "common/listener.hpp"
#include "common/protocol.hpp"
#include "common/rot13.hpp"
#include "common/signals.hpp"
#include "common/socket.hpp"

namespace {

// Everything one connection needs between two passes of the loop.
struct connection {
    rot13::unique_socket fd;
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
        } else if (int error = rot13::last_socket_error(); error == EAGAIN || error == EWOULDBLOCK) {
            return true;
        } else if (error != EINTR) {
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
        } else if (int error = rot13::last_socket_error(); error == EAGAIN || error == EWOULDBLOCK) {
            return true;
        } else if (error != EINTR) {
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
    explicit select_server(rot13::unique_socket listener)
        : listener_(std::move(listener)), spare_fd_(rot13::open_spare_descriptor()) {}

    void run() {
        const rot13::socket_handle stop = rot13::stop_fd();
        while (!rot13::stop_requested()) {
            // 1. Rebuild the sets: select() overwrites them with its answer every time.
            fd_set readable, writable;
            FD_ZERO(&readable);
            FD_ZERO(&writable);
            FD_SET(listener_.get(), &readable);
            FD_SET(stop, &readable);
            rot13::socket_handle max_fd = std::max(listener_.get(), stop);
            for (connection& c : connections_) {
                if (c.wants_read()) FD_SET(c.fd.get(), &readable);
                if (c.wants_write()) FD_SET(c.fd.get(), &writable);
                max_fd = std::max(max_fd, c.fd.get());
            }

            // 2. Sleep until something is ready. The kernel scans fds 0..max_fd (Winsock
            //    ignores the count and reads the sets' own lengths).
            if (::select(static_cast<int>(max_fd + 1), &readable, &writable, nullptr, nullptr) < 0) {
                if (rot13::last_socket_error() == EINTR) continue;
                rot13::throw_socket_error("select");
            }
            if (FD_ISSET(stop, &readable)) break;

            // 3. New connections.
            if (FD_ISSET(listener_.get(), &readable)) accept_all();

            // 4. Data in and out on the connections select() reported. Those accepted just
            //    now are in neither set; the next pass includes them.
            for (auto it = connections_.begin(); it != connections_.end();) {
                connection& c = *it;
                bool keep = true;
                if (FD_ISSET(c.fd.get(), &readable)) keep = do_read(c);
                // Reply at once instead of waiting for the next select() to say writable:
                // the socket almost always has room, and this saves one loop pass per line.
                if (keep && c.wants_write()) keep = do_write(c);
                if (keep && c.peer_closed && !c.wants_write()) keep = false;
                it = keep ? std::next(it) : connections_.erase(it);  // erasing closes the socket
            }
        }
    }

private:
    void accept_all() {
        for (;;) {
            rot13::unique_socket fd(::accept(listener_.get(), nullptr, nullptr));
            if (!fd) {
                const int error = rot13::last_socket_error();
                if (error == EINTR || error == ECONNABORTED) continue;
                // ENOBUFS: how Windows says it has no memory left for another socket.
                if (error == EMFILE || error == ENFILE || error == ENOBUFS) {
                    refuse_one_without_fds(error);
                    return;  // one per pass: select() reports the listener again if more wait
                }
                return;  // EAGAIN: the backlog is empty
            }
            // The listener and the stop descriptor are in the read set too.
            if (!rot13::fits_in_fd_set(fd.get(), connections_.size() + 2)) {
                // An fd_set has no room for this socket: FD_SET would write past its end
                // (POSIX) or silently leave it out (Windows).
                if (!reported_cap_) {
                    std::fprintf(stderr, "rot13-select: connection cap: select() cannot watch more than FD_SETSIZE (%d) "
                                 "descriptors; closing new connections until some free up\n", FD_SETSIZE);
                    reported_cap_ = true;
                }
                continue;  // fd's destructor closes the connection
            }
            rot13::set_nonblocking(fd.get());
            connections_.emplace_back().fd = std::move(fd);
        }
    }

    // Out of descriptors: the pending connection stays in the backlog and the listener
    // stays readable, so the loop would spin. Give up the spare descriptor, accept the
    // connection, close it (the client sees the refusal) and take the spare back.
    void refuse_one_without_fds(int error) {
        if (!reported_emfile_) {
            std::fprintf(stderr, "rot13-select: out of file descriptors (%s); refusing new connections\n",
                         std::strerror(error));
            reported_emfile_ = true;
        }
        spare_fd_.reset();
        rot13::unique_socket refused(::accept(listener_.get(), nullptr, nullptr));
        refused.reset();
        spare_fd_ = rot13::open_spare_descriptor();
    }

    rot13::unique_socket listener_;
    std::list<connection> connections_;  // the book's state[], as a list (see the top)
    rot13::unique_socket spare_fd_;
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
        rot13::unique_socket listener = rot13::open_listener(opts, /*nonblocking=*/true);
        rot13::announce_listening(listener.get());
        select_server server(std::move(listener));
        server.run();
        return 0;
    });
}
