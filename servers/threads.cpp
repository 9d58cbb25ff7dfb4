// rot13-threads: one thread per connection, blocking I/O — the design the book names
// right after the forking server ("a separate process (or thread) to deal with each
// connection").
//
// What it demonstrates: the forking server's per-connection loop, unchanged, in a
// std::thread instead of a process. Each connection's state lives on its thread's stack
// and every call blocks, so the code reads top to bottom like the forking child. Threads
// are cheaper to start than processes, but each one still costs a stack and a kernel task,
// and unlike processes they share one address space and one fd table, so the server has
// to track them: which sockets are open (to wake them at shutdown) and which threads have
// finished (to join them).
//
// Needs: POSIX sockets or Winsock, poll() (WSAPoll() on Windows) and std::thread.
// Run: build/bin/rot13-threads --port 40713
// Smoke test: printf 'Hello\n' | nc -q1 127.0.0.1 40713   # prints "Uryyb"
//
// Backpressure holds by construction, as in the forking server: a thread sends every reply
// it owes (blocking) before it reads again, so at most one 16 KiB chunk's worth of output
// is ever pending, far below max_pending_output. A client that never reads fills the
// socket buffers, our send() blocks, we stop reading, and TCP flow control stops the client.
//
// Fixed with respect to the book's forking listing this mirrors: one byte per recv(),
// backlog 16, no SIGPIPE handling, no EMFILE handling, no way to stop.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <list>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "common/cli.hpp"
#include "common/errors.hpp"
#include "common/listener.hpp"
#include "common/protocol.hpp"
#include "common/rot13.hpp"
#include "common/signals.hpp"
#include "common/socket.hpp"

namespace {

// Everything one connection needs; it lives on the stack of the thread serving it.
struct connection {
    rot13::unique_socket fd;
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
// the connection must be closed (EPIPE, ECONNRESET, or shut down by the stopping server).
bool send_all(connection& c) {
    std::size_t sent = 0;
    while (sent < c.output.size()) {
        ssize_t n = ::send(c.fd.get(), c.output.data() + sent, c.output.size() - sent, 0);
        if (n >= 0) {
            sent += static_cast<std::size_t>(n);
        } else if (rot13::last_socket_error() != EINTR) {
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
        } else if (rot13::last_socket_error() != EINTR) {
            return;  // ECONNRESET and friends
        }
    }
}

class threads_server {
public:
    explicit threads_server(rot13::unique_socket listener)
        : listener_(std::move(listener)), spare_fd_(rot13::open_spare_descriptor()) {}

    void run() {
        // The listener is nonblocking, and the acceptor waits in poll() instead of
        // accept(): a blocked accept() would not notice the stop pipe or a finished thread.
        pollfd fds[3] = {{listener_.get(), POLLIN, 0}, {rot13::stop_fd(), POLLIN, 0},
                         {thread_finished_.readable(), POLLIN, 0}};
        while (!rot13::stop_requested()) {
            if (rot13::poll_sockets(fds, 3, -1) < 0) {
                if (rot13::last_socket_error() == EINTR) continue;
                rot13::throw_socket_error("poll");
            }
            if (fds[1].revents) break;
            if (fds[2].revents) join_finished();
            if (fds[0].revents) accept_all();
        }
        stop_all();
    }

private:
    // One connection's thread, and its socket for as long as the thread uses it.
    struct session {
        rot13::socket_handle fd;
        std::thread thread;
    };

    void accept_all() {
        for (;;) {
            rot13::socket_handle fd = ::accept(listener_.get(), nullptr, nullptr);
            if (fd == rot13::invalid_socket) {
                const int error = rot13::last_socket_error();
                if (error == EINTR || error == ECONNABORTED) continue;
                // ENOBUFS: how Windows says it has no memory left for another socket.
                if (error == EMFILE || error == ENFILE || error == ENOBUFS) {
                    refuse_one_without_fds(error);
                    return;  // one per pass: poll() reports the listener again if more wait
                }
                return;  // EAGAIN: the backlog is empty
            }
            // accept() does not pass nonblocking mode from the listener to the new socket on
            // Linux, but it does on the BSDs, macOS and Windows; this design needs blocking
            // sockets, so say so explicitly.
            rot13::set_blocking(fd);
            start_thread(rot13::unique_socket(fd));
        }
    }

    // The lifecycle of a session:
    //   1. The acceptor adds it to live_ and starts its thread, holding the lock, so the
    //      thread cannot finish before its std::thread is stored.
    //   2. The thread serves the connection; stop_all() may shut its socket down meanwhile.
    //   3. The thread moves itself to finished_ under the lock, and only then closes its
    //      socket: a socket stop_all() can see is never closed, so it never shuts down a
    //      number that the next accept() has already reused.
    //   4. A byte on the finished pipe wakes the acceptor, which joins the thread. Without
    //      this, each finished thread would keep its stack until the next connection came.
    void start_thread(rot13::unique_socket fd) {
        std::lock_guard lock(mutex_);
        auto self = live_.insert(live_.end(), session{fd.get(), {}});
        try {
            rot13::stop_signals_blocked blocked;  // the thread never takes SIGTERM or SIGINT
            self->thread = std::thread([this, self] { run_session(self); });
            fd.release();  // the thread owns the socket now
        } catch (const std::system_error& e) {
            // EAGAIN: out of threads or memory. The connection is closed (fd's destructor);
            // the server goes on, and this is said once, not once per connection.
            live_.erase(self);
            if (!reported_thread_failure_) {
                std::fprintf(stderr, "rot13-threads: cannot start a thread (%s); "
                             "closing new connections until threads finish\n", e.what());
                reported_thread_failure_ = true;
            }
        }
    }

    void run_session(std::list<session>::iterator self) {
        connection c;
        c.fd.reset(self->fd);
        serve(c);
        {
            std::lock_guard lock(mutex_);
            finished_.splice(finished_.end(), live_, self);
        }
        c.fd.reset();
        thread_finished_.notify();
    }

    void join_finished() {
        thread_finished_.drain();
        std::list<session> done;
        {
            std::lock_guard lock(mutex_);
            done.splice(done.end(), finished_);
        }
        for (auto& s : done) s.thread.join();  // past serve() already: at most a moment's wait
    }

    // A stop (SIGTERM; Ctrl-C on Windows): 1. stop accepting; 2. shut every connection
    // down, which wakes a thread blocked in recv() (it returns 0) or send() (it fails with
    // EPIPE; on Windows the pending call is cancelled as well, see common/socket.hpp);
    // 3. join them all.
    void stop_all() {
        listener_.reset();
        std::vector<std::thread*> threads;
        {
            std::lock_guard lock(mutex_);
            for (auto& s : live_) {
                rot13::shutdown_socket(s.fd);
                threads.push_back(&s.thread);
            }
            for (auto& s : finished_) threads.push_back(&s.thread);
        }
        // Joined without the lock, which the threads need to finish. splice() moves list
        // nodes without moving the elements, so these pointers stay valid meanwhile.
        for (std::thread* t : threads) t->join();
    }

    // Out of descriptors: the pending connection stays in the backlog and the listener
    // stays readable, so the loop would spin. Give up the spare descriptor, accept the
    // connection, close it (the client sees the refusal) and take the spare back.
    void refuse_one_without_fds(int error) {
        if (!reported_emfile_) {
            std::fprintf(stderr, "rot13-threads: out of file descriptors (%s); refusing new connections\n",
                         std::strerror(error));
            reported_emfile_ = true;
        }
        spare_fd_.reset();
        rot13::unique_socket refused(::accept(listener_.get(), nullptr, nullptr));
        refused.reset();
        spare_fd_ = rot13::open_spare_descriptor();
    }

    rot13::unique_socket listener_;
    rot13::unique_socket spare_fd_;
    rot13::wakeup thread_finished_;    // a byte per finished thread wakes the acceptor
    std::mutex mutex_;                 // guards live_ and finished_
    std::list<session> live_;          // threads serving a connection
    std::list<session> finished_;      // threads that are done, waiting to be joined
    bool reported_thread_failure_ = false;
    bool reported_emfile_ = false;
};

}  // namespace

int main(int argc, char** argv) {
    const rot13::server_spec spec{
        .program = "rot13-threads",
        .description = "ROT13 line server: one thread per connection, blocking I/O.",
    };
    auto opts = rot13::parse_server_options_or_exit(argc, argv, spec);
    return rot13::run_main(spec.program.data(), [&] {
        rot13::install_signal_handlers();
        rot13::unique_socket listener = rot13::open_listener(opts, /*nonblocking=*/true);
        rot13::announce_listening(listener.get());
        threads_server server(std::move(listener));
        server.run();
        return 0;
    });
}
