// rot13-iocp: one thread and an I/O completion port — Windows' completion model written out.
//
// What it demonstrates: the model the chapter ends on, without a library in between. The
// program tells the networking stack to *start* an operation — AcceptEx(), WSARecv(),
// WSASend(), each given a buffer and an OVERLAPPED that names the operation — and the call
// returns at once. The kernel does the work; when it is done it queues a *completion* on
// the port, and GetQueuedCompletionStatusEx() hands the program up to 64 of them per call,
// each with the OVERLAPPED's address and the number of bytes moved. This is what asio.cpp's
// Asio does underneath its coroutines on Windows; here every step is in the open.
//
// Against epoll's readiness model (epoll.cpp), three things change:
//   - Who owns the buffer. epoll says "this socket can be read now" and the program's
//     recv() copies into a buffer that was the program's all along. Here WSARecv() is given
//     the buffer *before* any data exists, and the kernel writes into it whenever data
//     comes: from the call until the completion, the buffer and the OVERLAPPED belong to
//     the kernel. We may not move, reuse or free them, nor append to a string a WSASend()
//     is reading (hence `sending` beside `output` below).
//   - When a connection may be freed. A completion carries a pointer into the connection,
//     and it arrives even after an error or a closesocket(). So a connection is freed only
//     when none of its operations is outstanding: CancelIoEx() asks the kernel to finish
//     each one early (it completes with ERROR_OPERATION_ABORTED), and the last completion
//     frees it (close_connection()). epoll.cpp can close a socket the moment it likes.
//   - What backpressure is. epoll.cpp stops asking whether a socket is readable; here we
//     stop posting reads: past 1 MiB of replies not yet sent, no WSARecv() is outstanding,
//     so the client's bytes wait in the kernel and TCP flow control stops it.
// Every operation completes through the port, even one that finished inside the call
// (FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is not set), so there is one code path for each.
// io_uring.cpp is the same model on Linux; `diff servers/io_uring.cpp servers/iocp.cpp`
// shows the API differences only.
//
// Needs: Windows Vista or later (GetQueuedCompletionStatusEx, CancelIoEx; built for
// Windows 10), Winsock 2.2. Cross-built here with MinGW-w64 and run under Wine 8 for the
// conformance suite (cmake/toolchain-mingw-w64.cmake, servers/README.md "Windows").
// Run: rot13-iocp.exe --port 40713      (stop: Ctrl-C, Ctrl-Break or closing the console)
// Smoke test: printf 'Hello\n' | nc -q1 127.0.0.1 40713   # prints "Uryyb"
//
// Fixed from the book's listings: backlog 16 (the listener comes from open_listener), no
// handling of running out of sockets (see post_accept()), unbounded output for a client that
// never reads (see advance()), and no hard connection cap (there is no fd_set here).
#include <winsock2.h>
#include <mswsock.h>  // AcceptEx and SO_UPDATE_ACCEPT_CONTEXT
#include <windows.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <list>
#include <memory>
#include <string>
#include <system_error>

#include "common/cli.hpp"
#include "common/errors.hpp"
#include "common/listener.hpp"
#include "common/protocol.hpp"
#include "common/rot13.hpp"
#include "common/signals.hpp"
#include "common/socket.hpp"

namespace {

struct connection;

// What a completion is about. The OVERLAPPED is the first member, so the address the
// completion hands back is the operation's own address too: that is how we dispatch.
enum class op_kind { accept, recv, send, stop };
struct operation {
    OVERLAPPED overlapped{};
    op_kind kind;
    connection* conn = nullptr;
};

// Everything one connection needs, including the operations the kernel may be holding.
struct connection {
    explicit connection(rot13::unique_socket s) : socket(std::move(s)) {}
    connection(const connection&) = delete;  // recv_op and send_op point at this object
    connection& operator=(const connection&) = delete;

    rot13::unique_socket socket;
    std::string line;          // rot13 of the current line so far (never more than max_line)
    std::string output;        // replies not yet handed to the kernel
    std::string sending;       // replies the outstanding WSASend reads from: untouched until it completes
    std::size_t sending_done = 0;
    bool peer_closed = false;  // read EOF: send what is left, then close
    bool closing = false;      // being torn down: post nothing more (see close_connection)
    bool recv_in_flight = false;
    bool send_in_flight = false;
    operation recv_op{{}, op_kind::recv, this};
    operation send_op{{}, op_kind::send, this};
    char buf[16384];           // the outstanding WSARecv writes here
    std::list<connection>::iterator where;  // this connection's place in the server's list

    std::size_t pending() const { return sending.size() - sending_done + output.size(); }
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

// One outstanding AcceptEx(). Unlike accept(), AcceptEx() is given the socket that the new
// connection will use, created beforehand, and a buffer for the two addresses, which the
// kernel fills in when a client connects: all three are the kernel's while it waits.
struct accept_slot {
    operation op{{}, op_kind::accept};
    rot13::unique_socket socket;
    char addresses[2 * (sizeof(sockaddr_in6) + 16)];  // AcceptEx wants 16 bytes more per address
    bool in_flight = false;
};

// Several accepts outstanding at once, so that a burst of connects does not wait for one
// completion and one new AcceptEx() per client.
constexpr std::size_t accepts_outstanding = 16;

// How long to wait before creating sockets again once Windows had none to give.
constexpr ULONGLONG retry_after_ms = 100;

class iocp_server {
public:
    iocp_server(HANDLE port, rot13::unique_socket listener) : port_(port), listener_(std::move(listener)) {
        sockaddr_storage local{};
        int length = sizeof(local);
        if (::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&local), &length) != 0)
            rot13::throw_socket_error("getsockname");
        family_ = local.ss_family;
        // AcceptEx is an extension of Winsock, found through the socket rather than linked
        // (calling mswsock.dll's export instead costs a lookup on every call).
        GUID guid = WSAID_ACCEPTEX;
        DWORD bytes = 0;
        if (::WSAIoctl(listener_.get(), SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof(guid), &accept_ex_,
                       sizeof(accept_ex_), &bytes, nullptr, nullptr) != 0)
            rot13::throw_socket_error("cannot find AcceptEx");
        associate(listener_.get());     // AcceptEx completions arrive through the listener
        associate(rot13::stop_fd());    // and so does the stop request (see run())
    }

    void run() {
        for (accept_slot& slot : accepts_) post_accept(slot);
        // The stop request is one more completion: a one-byte WSARecv() on the socket that
        // the console control handler writes to (common/signals.hpp).
        WSABUF stop_buffer{1, &stop_byte_};
        DWORD flags = 0;
        if (::WSARecv(rot13::stop_fd(), &stop_buffer, 1, nullptr, &flags, &stop_op_.overlapped, nullptr) != 0 &&
            ::WSAGetLastError() != WSA_IO_PENDING)
            rot13::throw_socket_error("cannot wait for a stop request");
        ++in_flight_;

        // After a stop, keep going until the kernel has given back every operation, but
        // not for longer than half a second (see below).
        const ULONGLONG stop_deadline_ms = 500;
        while (!stopping_ || in_flight_ > 0) {
            // 1. Sleep until at least one operation completes, and take up to 64 at once.
            //    While sockets ran out, wake in time to create them again.
            DWORD timeout = INFINITE;
            if (stopping_) timeout = static_cast<DWORD>(stop_deadline_ms);
            else if (retry_at_ms_ != 0) timeout = static_cast<DWORD>(retry_at_ms_ - std::min(retry_at_ms_, ::GetTickCount64()));
            std::array<OVERLAPPED_ENTRY, 64> entries;
            ULONG count = 0;
            if (!::GetQueuedCompletionStatusEx(port_, entries.data(), static_cast<ULONG>(entries.size()), &count,
                                               timeout, FALSE)) {
                if (::GetLastError() != WAIT_TIMEOUT)
                    throw std::system_error(static_cast<int>(::GetLastError()), std::system_category(),
                                            "GetQueuedCompletionStatusEx");
                if (stopping_) {
                    // Operations the kernel has not given back in time may still write
                    // into our connections, so they must not be freed: leave at once and
                    // let the process exit close the sockets.
                    std::fflush(nullptr);
                    std::_Exit(0);
                }
            }

            // 2. Handle each completion. Handlers post new operations, which may complete
            //    at once; their completions come in a later pass.
            for (ULONG i = 0; i < count; ++i) {
                --in_flight_;
                auto& op = *reinterpret_cast<operation*>(entries[i].lpOverlapped);
                complete(op, entries[i].dwNumberOfBytesTransferred);
            }

            // 3. Sockets ran out earlier and the pause is over: try the idle accepts again.
            if (!stopping_ && retry_at_ms_ != 0 && ::GetTickCount64() >= retry_at_ms_) {
                retry_at_ms_ = 0;
                for (accept_slot& slot : accepts_)
                    if (!slot.in_flight) post_accept(slot);
            }
        }
    }

private:
    // Completions for s's operations are queued on our port (key 0: the OVERLAPPED says it all).
    bool associate(rot13::socket_handle s) {
        return ::CreateIoCompletionPort(reinterpret_cast<HANDLE>(s), port_, 0, 0) == port_;
    }

    // A completion says how many bytes moved; whether the operation failed, and how, is
    // asked of Winsock for that OVERLAPPED. 0 on success, else a WSA error code.
    static int error_of(rot13::socket_handle s, operation& op) {
        DWORD bytes = 0, flags = 0;
        return ::WSAGetOverlappedResult(s, &op.overlapped, &bytes, FALSE, &flags) ? 0 : ::WSAGetLastError();
    }

    void complete(operation& op, DWORD bytes) {
        switch (op.kind) {
        case op_kind::accept: on_accept(*reinterpret_cast<accept_slot*>(&op)); break;  // op is its first member
        case op_kind::stop: begin_stop(); break;
        case op_kind::recv:
            op.conn->recv_in_flight = false;
            on_recv(*op.conn, error_of(op.conn->socket.get(), op), bytes);
            break;
        case op_kind::send:
            op.conn->send_in_flight = false;
            on_send(*op.conn, error_of(op.conn->socket.get(), op), bytes);
            break;
        }
    }

    // Out of sockets (WSAENOBUFS: Windows bounds sockets by memory, not by a per-process
    // count; WSAEMFILE is its old name for it), the slot stays idle and run() tries again
    // in 100 ms, when finishing connections may have freed some. Meanwhile the waiting
    // clients stay in the listen backlog and are served late rather than refused; nothing
    // spins, because nothing is outstanding that could complete at once.
    void post_accept(accept_slot& slot) {
        slot.socket.reset(::WSASocketW(family_, SOCK_STREAM, IPPROTO_TCP, nullptr, 0,
                                       WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT));
        if (!slot.socket) return pause_accepting("cannot create a socket for the next connection");
        slot.op.overlapped = {};
        DWORD received = 0;
        constexpr DWORD address_length = sizeof(sockaddr_in6) + 16;
        // Receive length 0: complete as soon as a client connects, not when it first sends.
        if (!accept_ex_(listener_.get(), slot.socket.get(), slot.addresses, 0, address_length, address_length,
                        &received, &slot.op.overlapped) &&
            ::WSAGetLastError() != ERROR_IO_PENDING) {
            slot.socket.reset();
            return pause_accepting("AcceptEx failed");
        }
        slot.in_flight = true;
        ++in_flight_;
    }

    void pause_accepting(const char* what) {
        if (!reported_pause_) {
            std::fprintf(stderr, "rot13-iocp: %s (%s); accepting again in %llu ms\n", what,
                         std::system_category().message(::WSAGetLastError()).c_str(), retry_after_ms);
            reported_pause_ = true;
        }
        retry_at_ms_ = ::GetTickCount64() + retry_after_ms;
    }

    void on_accept(accept_slot& slot) {
        slot.in_flight = false;
        const int error = error_of(listener_.get(), slot.op);
        rot13::unique_socket accepted = std::move(slot.socket);
        if (stopping_) return;  // closes the accepted socket, if any
        post_accept(slot);      // keep accepts_outstanding waiting
        // WSAECONNRESET: the client gave up before we saw it. The next one is unaffected.
        if (error != 0) return;
        // Until told which listener it came from, an AcceptEx() socket is in "default state":
        // getpeername() and shutdown() fail, and it has none of the listener's options, so
        // TCP_NODELAY (open_listener) is set again as well.
        const SOCKET listening = listener_.get();
        const int one = 1;
        if (::setsockopt(accepted.get(), SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT,
                         reinterpret_cast<const char*>(&listening), sizeof(listening)) != 0 ||
            ::setsockopt(accepted.get(), IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char*>(&one),
                         sizeof(one)) != 0 ||
            !associate(accepted.get()))
            return;  // out of resources: the connection is closed, the client sees it
        connection& c = connections_.emplace_front(std::move(accepted));
        c.where = connections_.begin();
        advance(c);
    }

    void on_recv(connection& c, int error, DWORD bytes) {
        if (c.closing) return finish_close(c);
        if (error != 0) return close_connection(c);  // WSAECONNRESET and friends
        if (bytes > 0) {
            consume_input(c, c.buf, bytes);
        } else {
            c.peer_closed = true;  // a partial line at EOF gets no reply
        }
        advance(c);
    }

    void on_send(connection& c, int error, DWORD bytes) {
        if (c.closing) return finish_close(c);
        if (error != 0) return close_connection(c);  // WSAECONNRESET, WSAECONNABORTED: the peer is gone
        c.sending_done += bytes;
        advance(c);
    }

    // After any completion on c: decide what to post next. This is where select.cpp's
    // wants_read()/wants_write() become operations handed to the kernel.
    void advance(connection& c) {
        // Double buffering: new replies collect in output while a WSASend reads sending.
        // When sending is done the two swap, so the kernel never reads a string we append to.
        if (!c.send_in_flight && c.sending_done == c.sending.size()) {
            c.sending.clear();
            c.sending_done = 0;
            std::swap(c.sending, c.output);
        }
        // A short send (rare: the kernel normally takes it all) leaves the rest in sending.
        if (!c.send_in_flight && c.sending_done < c.sending.size()) {
            WSABUF buffer{static_cast<ULONG>(c.sending.size() - c.sending_done), c.sending.data() + c.sending_done};
            c.send_op.overlapped = {};
            if (::WSASend(c.socket.get(), &buffer, 1, nullptr, 0, &c.send_op.overlapped, nullptr) != 0 &&
                ::WSAGetLastError() != WSA_IO_PENDING)
                return close_connection(c);  // failed at once: no completion will come
            c.send_in_flight = true;
            ++in_flight_;
        }
        if (!c.recv_in_flight && c.wants_read()) {
            WSABUF buffer{sizeof(c.buf), c.buf};
            DWORD flags = 0;
            c.recv_op.overlapped = {};
            if (::WSARecv(c.socket.get(), &buffer, 1, nullptr, &flags, &c.recv_op.overlapped, nullptr) != 0 &&
                ::WSAGetLastError() != WSA_IO_PENDING)
                return close_connection(c);
            c.recv_in_flight = true;
            ++in_flight_;
        }
        if (c.peer_closed && !c.wants_write()) close_connection(c);
    }

    // Tearing down a connection takes until the kernel has given back its operations:
    //   1. Mark it closing: from now on nothing new is posted for it.
    //   2. CancelIoEx() asks the kernel to finish every operation outstanding on the socket
    //      now (a WSARecv that waits for data would otherwise wait forever).
    //   3. Each one still completes, with ERROR_OPERATION_ABORTED or, if it finished first,
    //      with its real result, which we ignore. Until then the kernel may write into
    //      c.buf or read c.sending, and the completion will point at c.recv_op or
    //      c.send_op: the memory must stay.
    //   4. When nothing is outstanding, free the connection, which closes the socket.
    //      Closing first would cancel too, but would let a new socket reuse the handle
    //      value while completions for the old one are still on their way.
    void close_connection(connection& c) {
        c.closing = true;
        if (c.recv_in_flight || c.send_in_flight) ::CancelIoEx(reinterpret_cast<HANDLE>(c.socket.get()), nullptr);
        finish_close(c);
    }

    void finish_close(connection& c) {
        if (!c.recv_in_flight && !c.send_in_flight) connections_.erase(c.where);  // frees c
    }

    // Ctrl-C, Ctrl-Break, the console closing: stop accepting, tear down every connection,
    // and let run() return once the kernel has handed back all operations (a few ms).
    void begin_stop() {
        stopping_ = true;
        ::CancelIoEx(reinterpret_cast<HANDLE>(listener_.get()), nullptr);  // every outstanding AcceptEx
        for (auto it = connections_.begin(); it != connections_.end();) {
            connection& c = *it++;  // close_connection may erase c
            if (!c.closing) close_connection(c);
        }
    }

    HANDLE port_;
    rot13::unique_socket listener_;
    int family_ = AF_INET;
    LPFN_ACCEPTEX accept_ex_ = nullptr;
    std::array<accept_slot, accepts_outstanding> accepts_;
    std::list<connection> connections_;  // nodes never move: operations point into them
    operation stop_op_{{}, op_kind::stop};
    char stop_byte_ = 0;
    unsigned in_flight_ = 0;    // posted operations whose completion has not been seen
    ULONGLONG retry_at_ms_ = 0; // when to create sockets again; 0: no accept is waiting for that
    bool stopping_ = false;
    bool reported_pause_ = false;
};

}  // namespace

int main(int argc, char** argv) {
    const rot13::server_spec spec{
        .program = "rot13-iocp",
        .description = "ROT13 line server: one thread, AcceptEx/WSARecv/WSASend on an I/O completion port (Windows).",
    };
    auto opts = rot13::parse_server_options_or_exit(argc, argv, spec);
    return rot13::run_main(spec.program.data(), [&] {
        // Ctrl-C, Ctrl-Break and the console closing make stop_fd() readable.
        rot13::install_signal_handlers();

        // One port for every socket. Concurrency 1: at most one thread is meant to run
        // completions at a time; there is only this one.
        std::unique_ptr<void, decltype(&::CloseHandle)> port(
            ::CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 1), &::CloseHandle);
        if (!port)
            throw std::system_error(static_cast<int>(::GetLastError()), std::system_category(),
                                    "cannot create an I/O completion port");

        // The listener is overlapped (every socket of common/socket.hpp is), as AcceptEx needs.
        rot13::unique_socket listener = rot13::open_listener(opts, /*nonblocking=*/false);
        const rot13::socket_handle listening = listener.get();
        iocp_server server(port.get(), std::move(listener));
        rot13::announce_listening(listening);
        server.run();
        return 0;
    });
}
