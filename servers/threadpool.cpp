// rot13-threadpool: a fixed pool of N threads, blocking I/O, connections queued — the
// book's advice ("In real life, you'd want to use a thread pool instead of creating new
// processes").
//
// What it demonstrates: the thread-per-connection server with the threads made once, up
// front. The acceptor puts each new socket on a queue; a free worker takes it and serves
// it to the end with the same blocking loop, then takes the next. No thread is started or
// joined per connection, and the number of threads stays N however many clients come.
//
// The price is the design's inherent cap: with blocking I/O a worker is busy for the whole
// life of its connection, idle or not, so at most N connections are served at once. A
// queued client is accepted (its connect() succeeds and its requests wait in the kernel's
// socket buffer) but gets no reply until some earlier connection closes; a client that
// holds its connection open keeps a worker from everyone behind it. Past queue_bound
// waiting connections, new ones are closed at once, and that is reported once on stderr.
//
// Needs: POSIX sockets or Winsock, poll() (WSAPoll() on Windows) and std::thread.
// Run: build/bin/rot13-threadpool --port 40713 --threads 8
// Smoke test: printf 'Hello\n' | nc -q1 127.0.0.1 40713   # prints "Uryyb"
//
// Backpressure holds by construction, as in the forking server: a worker sends every reply
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
#include <condition_variable>
#include <deque>
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

// Everything one connection needs; it lives on the stack of the worker serving it.
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

// How many accepted connections may wait for a free worker. Beyond it a new connection is
// closed at once: a client would otherwise wait behind thousands of others for a time
// nobody can bound, and tell the difference only by timing out. 4096 matches the default
// listen() backlog (and Linux's default somaxconn), the queue the kernel itself would keep.
// A queued connection costs one descriptor and a few bytes, so the bound is about
// latency, not memory; with a lower RLIMIT_NOFILE, EMFILE refuses connections earlier.
constexpr std::size_t queue_bound = 4096;

class threadpool_server {
public:
    threadpool_server(rot13::unique_socket listener, int threads)
        : listener_(std::move(listener)),
          spare_fd_(rot13::open_spare_descriptor()),
          active_(static_cast<std::size_t>(threads), rot13::invalid_socket) {}

    void run() {
        start_workers();
        // The listener is nonblocking, and the acceptor waits in poll() instead of
        // accept(): a blocked accept() would not notice the stop pipe.
        pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {rot13::stop_fd(), POLLIN, 0}};
        while (!rot13::stop_requested()) {
            if (rot13::poll_sockets(fds, 2, -1) < 0) {
                if (rot13::last_socket_error() == EINTR) continue;
                rot13::throw_socket_error("poll");
            }
            if (fds[1].revents) break;
            if (fds[0].revents) accept_all();
        }
        stop_all();
    }

private:
    void start_workers() {
        try {
            rot13::stop_signals_blocked blocked;  // the workers never take SIGTERM or SIGINT
            for (std::size_t slot = 0; slot < active_.size(); ++slot)
                workers_.emplace_back([this, slot] { work(slot); });
        } catch (...) {
            stop_all();  // join the workers already started, then report the failure
            throw;
        }
    }

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
            enqueue(rot13::unique_socket(fd));
        }
    }

    // The lifecycle of a connection:
    //   1. The acceptor appends it to queue_, or closes it when queue_bound are waiting.
    //   2. A free worker takes the oldest one and records its socket in the worker's slot
    //      of active_, both under the lock.
    //   3. The worker serves it to the end; stop_all() may shut its socket down meanwhile.
    //   4. The worker clears its slot under the lock, and only then closes the socket: a
    //      socket stop_all() can see is never closed, so it never shuts down a number that
    //      the next accept() has already reused.
    void enqueue(rot13::unique_socket fd) {
        std::lock_guard lock(mutex_);
        if (queue_.size() >= queue_bound) {
            if (!reported_cap_) {
                std::fprintf(stderr, "rot13-threadpool: connection cap: %zu workers serve one connection each "
                             "and %zu more wait in the queue; closing new connections while the queue is full\n",
                             active_.size(), queue_bound);
                reported_cap_ = true;
            }
            return;  // fd's destructor closes the connection
        }
        queue_.push_back(std::move(fd));
        ready_.notify_one();
    }

    void work(std::size_t slot) {
        for (;;) {
            connection c;
            {
                std::unique_lock lock(mutex_);
                ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
                if (stopping_) return;
                c.fd = std::move(queue_.front());
                queue_.pop_front();
                active_[slot] = c.fd.get();
            }
            serve(c);
            {
                std::lock_guard lock(mutex_);
                active_[slot] = rot13::invalid_socket;
            }
        }  // c.fd closes here, after its slot is cleared
    }

    // A stop (SIGTERM; Ctrl-C on Windows): 1. stop accepting; 2. close the queued
    // connections (those clients see EOF) and shut the active ones down, which wakes a
    // worker blocked in recv() (it returns 0) or send() (it fails with EPIPE; on Windows the
    // pending call is cancelled as well, see common/socket.hpp); 3. wake the idle workers
    // and join them all.
    void stop_all() {
        listener_.reset();
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
            queue_.clear();
            for (rot13::socket_handle fd : active_)
                if (fd != rot13::invalid_socket) rot13::shutdown_socket(fd);
        }
        ready_.notify_all();
        for (auto& worker : workers_) worker.join();
        workers_.clear();
    }

    // Out of descriptors: the pending connection stays in the backlog and the listener
    // stays readable, so the loop would spin. Give up the spare descriptor, accept the
    // connection, close it (the client sees the refusal) and take the spare back.
    void refuse_one_without_fds(int error) {
        if (!reported_emfile_) {
            std::fprintf(stderr, "rot13-threadpool: out of file descriptors (%s); refusing new connections\n",
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
    std::vector<std::thread> workers_;
    std::mutex mutex_;                      // guards queue_, active_ and stopping_
    std::condition_variable ready_;         // a connection was queued, or the server stops
    std::deque<rot13::unique_socket> queue_;  // accepted connections waiting for a worker
    std::vector<rot13::socket_handle> active_;  // the socket each worker serves, or invalid_socket
    bool stopping_ = false;
    bool reported_cap_ = false;
    bool reported_emfile_ = false;
};

}  // namespace

int main(int argc, char** argv) {
    const rot13::server_spec spec{
        .program = "rot13-threadpool",
        .description = "ROT13 line server: a fixed pool of threads, blocking I/O, connections queued.",
        .takes_threads = true,
        .threads_help = "worker threads, each serving one connection at a time (default: 2 x hardware threads)",
    };
    auto opts = rot13::parse_server_options_or_exit(argc, argv, spec);
    return rot13::run_main(spec.program.data(), [&] {
        rot13::install_signal_handlers();
        rot13::unique_socket listener = rot13::open_listener(opts, /*nonblocking=*/true);
        rot13::announce_listening(listener.get());
        // hardware_concurrency() may return 0 when it cannot tell.
        int threads = opts.threads > 0 ? opts.threads : 2 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        threadpool_server server(std::move(listener), threads);
        server.run();
        return 0;
    });
}
