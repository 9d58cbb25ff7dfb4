// rot13-asio: Boost.Asio with C++20 coroutines — the portable completion-style design.
//
// What it demonstrates: the model the chapter arrives at with bufferevents, done by a C++
// library. The program starts an operation ("read some bytes into this buffer", "write all
// of this") and is told when it has finished; it never asks whether a socket is ready. That
// is the shape of Windows' IOCP, which the chapter describes: the program tells the
// networking stack to start an operation and is told when it is done. Asio implements the
// same interface on every platform: on Windows with IOCP itself, and on readiness-based
// kernels by waiting for readiness and then doing the operation for you — with epoll here
// on Linux, with kqueue on macOS and the BSDs. `strace -f -e epoll_wait,epoll_ctl` shows it.
//
// Why coroutines and not callbacks: the per-connection state that select.cpp keeps in a
// struct between two passes of its loop (the line so far, the output not yet sent) lives
// here in the local variables of one coroutine per connection, and the protocol reads
// top to bottom like the forking server's blocking loop, yet one thread serves every
// connection. With callbacks the same logic is split across handlers that must keep the
// connection alive with shared_ptr; the coroutine frame does that for free.
//
// Needs: Boost >= 1.70 headers (Debian 12: Boost 1.74) and a C++20 compiler.
// Run: build/bin/rot13-asio --port 40713 [--threads N]
// Smoke test: printf 'Hello\n' | nc -q1 127.0.0.1 40713   # prints "Uryyb"
//
// Fixed from the book's listings: backlog 16 (the listener comes from open_listener),
// SIGPIPE (ignored), unbounded output for a client that never reads (see serve()), EMFILE
// (see accept_loop()), and no hard connection cap.
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "common/cli.hpp"
#include "common/errors.hpp"
#include "common/listener.hpp"
#include "common/protocol.hpp"
#include "common/rot13.hpp"
#include "common/signals.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// Everything one connection needs; it lives in the frame of its serve() coroutine.
struct connection {
    tcp::socket socket;
    std::string line;    // rot13 of the current line so far (never more than max_line)
    std::string output;  // replies not yet sent
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

// One connection, start to finish. Backpressure comes from the order of the two awaits:
// read one chunk, frame it into replies, write all of them, and only then read again.
// While a client does not read, async_write does not complete, so the coroutine never
// reads more and the kernel's socket buffers push back on the sender. Pending output is
// therefore bounded by the replies to one chunk: its 16 KiB, plus the start of a line
// carried over from earlier chunks (under max_line), plus a '\n' per max_line piece —
// about 32 KiB, far below max_pending_output. Reading ahead while a write is in flight
// would need select.cpp's wants_read() rule instead; this shape gets the bound for free.
asio::awaitable<void> serve(tcp::socket socket) {
    connection c{std::move(socket), {}, {}};
    char buf[16384];
    for (;;) {
        boost::system::error_code ec;
        std::size_t n = co_await c.socket.async_read_some(asio::buffer(buf),
                                                          asio::redirect_error(asio::use_awaitable, ec));
        // EOF: a partial line gets no reply, and every complete line was answered before
        // this read began. Any other error (ECONNRESET, ...) ends the connection too.
        if (ec) co_return;
        consume_input(c, buf, n);
        if (c.output.empty()) continue;
        co_await asio::async_write(c.socket, asio::buffer(c.output),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;  // EPIPE, ECONNRESET: the peer is gone
        c.output.clear();
    }
    // Every co_return destroys c, and with it the socket, which closes it.
}

// Accepts forever, one coroutine per connection. An accept error must not turn into a
// busy loop: out of descriptors (EMFILE, ENFILE), the pending connection stays in the
// backlog, so accepting again at once would fail again at once. Instead we sleep 100 ms
// on a timer, during which finishing connections can free descriptors, and try again;
// the waiting clients are served late rather than refused (select.cpp closes them with
// its spare-fd trick instead; either keeps the CPU idle).
asio::awaitable<void> accept_loop(tcp::acceptor& acceptor) {
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer pause(executor);
    bool reported_emfile = false;
    for (;;) {
        boost::system::error_code ec;
        tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (!ec) {
            asio::co_spawn(executor, serve(std::move(socket)), asio::detached);
            continue;
        }
        if (ec == asio::error::operation_aborted) co_return;  // the acceptor was closed
        // no_buffer_space: how Windows says it has no memory left for another socket.
        if (ec == asio::error::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system ||
            ec == asio::error::no_buffer_space) {
            if (!reported_emfile) {
                std::fprintf(stderr, "rot13-asio: out of file descriptors (%s); "
                             "pausing accept for 100 ms at a time\n", ec.message().c_str());
                reported_emfile = true;
            }
            pause.expires_after(std::chrono::milliseconds(100));
            co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        // ECONNABORTED and friends: the next connection is unaffected, accept again.
    }
}

}  // namespace

int main(int argc, char** argv) {
    const rot13::server_spec spec{
        .program = "rot13-asio",
        .description = "ROT13 line server: Boost.Asio, one C++20 coroutine per connection "
                       "(epoll on Linux, kqueue on macOS, IOCP on Windows).",
        .takes_threads = true,
        .threads_help = "threads running the io_context (default 1)",
    };
    auto opts = rot13::parse_server_options_or_exit(argc, argv, spec);
    return rot13::run_main(spec.program.data(), [&] {
        // Asio on Linux already sends with MSG_NOSIGNAL; ignoring SIGPIPE says so out loud
        // and covers any write that does not (Windows has no SIGPIPE). The stop signals go
        // to Asio's signal_set.
        rot13::ignore_sigpipe();
        const int threads = opts.threads > 0 ? opts.threads : 1;

        // With a concurrency hint of 1, Asio skips the locking that several threads need.
        asio::io_context io(threads);

        // Stop, installed before the readiness line so that no early signal kills us:
        // io.stop() is safe to call from any thread and makes every run() return
        // without running another handler. We do not close the acceptor or the sockets
        // from this handler: with --threads N another thread may be inside an operation
        // on them at this moment. They are closed below, once only this thread is left.
        // The signals are SIGTERM and SIGINT on POSIX; on Windows SIGINT and SIGBREAK, which
        // the C runtime raises for Ctrl-C and Ctrl-Break (common/signals.hpp).
        asio::signal_set signals(io);
        for (int number : rot13::stop_signal_numbers()) signals.add(number);
        signals.async_wait([&](const boost::system::error_code&, int) { io.stop(); });

        // The listening socket comes from open_listener so that --bind, --port and
        // --backlog behave exactly as in every other variant; Asio adopts the descriptor.
        rot13::unique_socket listener = rot13::open_listener(opts, /*nonblocking=*/true);
        const tcp protocol = asio::ip::make_address(opts.bind).is_v6() ? tcp::v6() : tcp::v4();
        tcp::acceptor acceptor(io, protocol, listener.get());
        listener.release();  // the acceptor owns it now
        rot13::announce_listening(acceptor.native_handle());

        asio::co_spawn(io, accept_loop(acceptor), asio::detached);

        // --threads N: N threads call io.run() on the same io_context, and the completion
        // of any operation may resume its coroutine on any of them, so N connections can
        // be served truly in parallel. No strand is needed: a connection is one coroutine
        // with at most one operation outstanding, so its steps run one after another even
        // when they hop between threads (the coroutine is an implicit strand). A design
        // that reads and writes one socket concurrently, or shares state between
        // connections, would need a strand or a lock. The accept loop is one coroutine
        // too, and the signal handler touches only io.stop().
        // std::thread, not std::jthread: libc++ before LLVM 18 (Xcode's, on macOS) has no
        // jthread. So the joins are written out, also for a handler's exception leaving
        // io.run() here: the others are stopped and joined before it propagates.
        std::vector<std::thread> pool;
        for (int i = 1; i < threads; ++i) pool.emplace_back([&io] { io.run(); });
        try {
            io.run();
        } catch (...) {
            io.stop();
            for (auto& t : pool) t.join();
            throw;
        }
        for (auto& t : pool) t.join();

        // Shutdown, single-threaded again. Asio gives the signals back their default action
        // when the signal_set lets go of them, and for SIGTERM that is death: a second stop
        // request on our way out (rot13-bench closes our stdin and sends SIGTERM) would kill
        // us. So let go of them now and ignore them from here on.
        signals.clear();
        rot13::ignore_stop_signals();
        // Stop accepting, then destroy the io_context's
        // pending work. Destroying each suspended serve() coroutine destroys its
        // connection and so closes its socket; the io_context's destructor does that.
        acceptor.close();
        return 0;
    });
}
