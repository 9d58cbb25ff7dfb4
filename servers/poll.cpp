// rot13-poll: one thread, nonblocking sockets, and poll() — select() without its bitmaps.
//
// What it demonstrates: the same single-threaded event loop as rot13-select, with poll()
// as the readiness mechanism. Each pass builds an array of struct pollfd, one entry per
// socket naming the events we want; poll() writes the answer into each entry's revents.
// What poll() fixes: no fd_set bitmaps and no FD_SETSIZE, so there is no cap on
// connections (only RLIMIT_NOFILE), and the array lists only the sockets we watch rather
// than every number from 0 to the largest fd. What it does not fix: every call still hands
// the whole array to the kernel, which checks every socket in it and copies it back, and
// we scan it again to find the few that are ready. The cost of one pass is O(n) in the
// number of connections however few are active; epoll and kqueue remove that.
//
// On Windows the same file builds against Winsock, whose WSAPoll() (Vista and later) takes
// the same pollfd array (common/socket.hpp's poll_sockets()). As in select.cpp, the
// connections are kept in a list, not in a table indexed by descriptor number: a SOCKET is
// a handle whose value says nothing about how many are open.
//
// Needs: POSIX sockets and poll(), or Winsock and WSAPoll(). Run: build/bin/rot13-poll --port 40713
// Smoke test: printf 'Hello\n' | nc -q1 127.0.0.1 40713   # prints "Uryyb"
//
// Fixed from the book's select() listing (the book has no poll() server): no cap at
// FD_SETSIZE, backlog 16, no SIGPIPE handling, unbounded output when a client never reads
// (we stop reading past 1 MiB of pending output), and no handling of EMFILE.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <list>
#include <string>
#include <vector>

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

class poll_server {
public:
    explicit poll_server(rot13::unique_socket listener)
        : listener_(std::move(listener)), spare_fd_(rot13::open_spare_descriptor()) {}

    void run() {
        const rot13::socket_handle stop = rot13::stop_fd();
        while (!rot13::stop_requested()) {
            // 1. Rebuild the array: one entry per socket, saying what we want from it. poll()
            //    answers in `revents` and leaves `events` alone, so the array could be kept
            //    and patched instead; rebuilding is simpler, and the pass is O(n) anyway
            //    because poll() itself is.
            pollfds_.clear();
            polled_.clear();
            pollfds_.push_back({stop, POLLIN, 0});
            pollfds_.push_back({listener_.get(), POLLIN, 0});
            for (auto it = connections_.begin(); it != connections_.end(); ++it) {
                short events = 0;
                if (it->wants_read()) events |= POLLIN;
                if (it->wants_write()) events |= POLLOUT;
                pollfds_.push_back({it->fd.get(), events, 0});
                polled_.push_back(it);
            }

            // 2. Sleep until something is ready. The kernel checks every entry of the array.
            if (rot13::poll_sockets(pollfds_.data(), pollfds_.size(), -1) < 0) {
                if (rot13::last_socket_error() == EINTR) continue;
                rot13::throw_socket_error("poll");
            }
            if (pollfds_[0].revents != 0) break;

            // 3. New connections.
            if (pollfds_[1].revents != 0) accept_all();

            // 4. Data in and out on the connections poll() reported. Connections accepted
            //    just now have no entry yet; the next pass includes them.
            for (std::size_t i = 2; i < pollfds_.size(); ++i) {
                const pollfd& entry = pollfds_[i];
                if (entry.revents == 0) continue;
                connection& c = *polled_[i - 2];
                bool keep = true;
                // POLLHUP and POLLERR are reported even when not asked for; recv() or
                // send() then returns the error or EOF, and the connection is closed.
                if (entry.revents & (POLLIN | POLLHUP | POLLERR)) keep = do_read(c);
                // Reply at once instead of waiting for the next poll() to say writable:
                // the socket almost always has room, and this saves one loop pass per line.
                if (keep && c.wants_write()) keep = do_write(c);
                if (keep && c.peer_closed && !c.wants_write()) keep = false;
                if (!keep) connections_.erase(polled_[i - 2]);  // closes the socket
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
                    return;  // one per pass: poll() reports the listener again if more wait
                }
                return;  // EAGAIN: the backlog is empty
            }
            // No cap: the list and the array grow as needed; RLIMIT_NOFILE bounds them.
            rot13::set_nonblocking(fd.get());
            connections_.emplace_back().fd = std::move(fd);
        }
    }

    // Out of descriptors: the pending connection stays in the backlog and the listener
    // stays readable, so the loop would spin. Give up the spare descriptor, accept the
    // connection, close it (the client sees the refusal) and take the spare back.
    void refuse_one_without_fds(int error) {
        if (!reported_emfile_) {
            std::fprintf(stderr, "rot13-poll: out of file descriptors (%s); refusing new connections\n",
                         std::strerror(error));
            reported_emfile_ = true;
        }
        spare_fd_.reset();
        rot13::unique_socket refused(::accept(listener_.get(), nullptr, nullptr));
        refused.reset();
        spare_fd_ = rot13::open_spare_descriptor();
    }

    rot13::unique_socket listener_;
    std::list<connection> connections_;                  // see the top: not indexed by fd
    std::vector<pollfd> pollfds_;                        // rebuilt every pass, capacity kept
    std::vector<std::list<connection>::iterator> polled_;  // the connection of pollfds_[i + 2]
    rot13::unique_socket spare_fd_;
    bool reported_emfile_ = false;
};

}  // namespace

int main(int argc, char** argv) {
    const rot13::server_spec spec{
        .program = "rot13-poll",
        .description = "ROT13 line server: one thread, nonblocking sockets, poll() (no FD_SETSIZE cap).",
    };
    auto opts = rot13::parse_server_options_or_exit(argc, argv, spec);
    return rot13::run_main(spec.program.data(), [&] {
        rot13::install_signal_handlers();
        rot13::unique_socket listener = rot13::open_listener(opts, /*nonblocking=*/true);
        rot13::announce_listening(listener.get());
        poll_server server(std::move(listener));
        server.run();
        return 0;
    });
}
