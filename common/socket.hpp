// Sockets on every OS: the few things POSIX sockets and Winsock do differently, behind one
// interface, so that a server written against it (select, poll, threads, threadpool, asio, iocp)
// never asks which OS it is on. CMake compiles socket_posix.cpp or socket_windows.cpp and
// names the matching types header below (STYLE.md §11). Servers that exist only on POSIX
// (fork, epoll, kqueue, io_uring, libevent) may keep calling POSIX directly: there a
// socket_handle is an int and unique_socket is unique_fd.
//
// What differs, and where this interface puts it:
//   a socket       an int file descriptor        | a SOCKET handle (unsigned, never < 0)
//   no socket      -1                            | INVALID_SOCKET          → invalid_socket
//   closing        close()                       | closesocket()           → unique_socket
//   errors         errno                         | WSAGetLastError()       → last_socket_error()
//   nonblocking    fcntl(O_NONBLOCK)             | ioctlsocket(FIONBIO)    → set_nonblocking()
//   poll()         poll()                        | WSAPoll()               → poll_sockets()
//   select()'s cap descriptor numbers < FD_SETSIZE | at most FD_SETSIZE sockets → fits_in_fd_set()
//   a self-pipe    pipe()                        | a loopback socket pair  → wakeup
//   new sockets    SOCK_CLOEXEC                  | WSA_FLAG_NO_HANDLE_INHERIT → open_tcp_socket()
//   quick rebind   SO_REUSEADDR                  | the default             → allow_rebinding()
//   start-up       nothing                       | WSAStartup() (done here, once, on first use)
#pragma once

#include <cstddef>
#include <string>
#include <utility>

// The OS's own socket headers and two names: socket_handle and invalid_socket. CMake
// defines this as "common/socket_types_posix.hpp" or "common/socket_types_windows.hpp".
#include ROT13_SOCKET_TYPES_HEADER

namespace rot13 {

// Closes s. On POSIX close() is never retried on EINTR: Linux releases the descriptor even
// when close() reports EINTR, and a retry could close one another thread has just been given.
void close_socket(socket_handle s) noexcept;

// Owns one socket (on POSIX: any file descriptor) and closes it exactly once.
class unique_socket {
public:
    unique_socket() noexcept = default;
    explicit unique_socket(socket_handle s) noexcept : s_(s) {}
    unique_socket(const unique_socket&) = delete;
    unique_socket& operator=(const unique_socket&) = delete;
    unique_socket(unique_socket&& other) noexcept : s_(other.release()) {}
    unique_socket& operator=(unique_socket&& other) noexcept {
        reset(other.release());
        return *this;
    }
    ~unique_socket() { reset(); }

    socket_handle get() const noexcept { return s_; }
    explicit operator bool() const noexcept { return s_ != invalid_socket; }

    // Gives up ownership without closing.
    socket_handle release() noexcept { return std::exchange(s_, invalid_socket); }

    // Closes the current socket (if any) and takes ownership of s.
    void reset(socket_handle s = invalid_socket) noexcept {
        if (s_ != invalid_socket) close_socket(s_);
        s_ = s;
    }

private:
    socket_handle s_ = invalid_socket;
};

// The error of the socket call that just failed, as an errno value on every OS: Winsock's
// WSAEWOULDBLOCK, WSAECONNRESET, WSAEMFILE, WSAENOBUFS, ... come back as EWOULDBLOCK,
// ECONNRESET, EMFILE, ENOBUFS, ..., so that an event loop tests one set of names. A Winsock
// code without an errno counterpart is returned as it is (10000 and up).
int last_socket_error() noexcept;

// Throws std::system_error for the socket call that just failed, with `what` in its message.
[[noreturn]] void throw_socket_error(const std::string& what);

// A new TCP socket of family AF_INET or AF_INET6 that child processes do not inherit
// (SOCK_CLOEXEC; on Windows WSA_FLAG_NO_HANDLE_INHERIT, and overlapped, so that IOCP and
// Asio can use it as well as blocking calls). Throws naming `where`.
unique_socket open_tcp_socket(int family, const std::string& where);

// Lets a restarted server bind its port again while the old one's connections sit in
// TIME_WAIT. POSIX needs SO_REUSEADDR for that. Windows allows it without any option, and
// its SO_REUSEADDR means something else (a second live socket may bind the same port and
// take its connections), so there this sets nothing. Throws naming `where`.
void allow_rebinding(socket_handle s, const std::string& where);

// Makes s nonblocking. Throws on failure.
void set_nonblocking(socket_handle s);

// Makes s blocking. Accepted sockets inherit nonblocking mode from the listener on the BSDs,
// macOS and Windows but not on Linux; the blocking designs call this to be sure. A failure is
// not reported: the next recv() then fails with EWOULDBLOCK and ends the connection.
void set_blocking(socket_handle s) noexcept;

// poll() over sockets: poll() on POSIX, WSAPoll() on Windows (Vista and later), with the
// same pollfd, POLLIN and POLLOUT. Returns what poll() returns; on -1 see last_socket_error().
int poll_sockets(pollfd* fds, std::size_t count, int timeout_ms) noexcept;

// Whether select() can watch s in a set that already holds sockets_in_set sockets. An fd_set
// is a bitmap indexed by descriptor number on POSIX, so a descriptor >= FD_SETSIZE has no
// bit however few are open; on Windows it is an array of FD_SETSIZE sockets of any value, so
// the limit is on how many. FD_SETSIZE is 1024 on Linux; Winsock's default of 64 is raised
// to 1024 for the Windows build (common/CMakeLists.txt).
bool fits_in_fd_set(socket_handle s, std::size_t sockets_in_set) noexcept;

// Stops the traffic on s in both directions without closing it (shutdown(SHUT_RDWR)), so
// that a thread blocked in recv() or send() on s returns (0, or an error) while s keeps its
// number: a stopping server wakes its blocked threads this way and lets each close its own
// socket. On Windows, where shutdown() does not complete a recv() already waiting (not under
// Wine, at least), the socket's pending operations are also cancelled (CancelIoEx).
void shutdown_socket(socket_handle s) noexcept;

// A descriptor held in reserve for the answer to EMFILE: when accept() fails for want of
// descriptors, a server closes this one, accepts the waiting connection, closes it (the
// client sees the refusal instead of a hang) and takes a new reserve. On POSIX it is
// /dev/null; Windows has no per-process limit on sockets (memory bounds them, and accept()
// fails with WSAENOBUFS), and a spare socket given back frees a socket's worth of it.
// Empty if even the reserve cannot be had.
unique_socket open_spare_descriptor() noexcept;

// Lets one thread (or a signal handler) wake another that waits in select() or
// poll_sockets(): readable() becomes readable after notify(), and stays so until drain().
// On POSIX a nonblocking pipe; on Windows, where select() and WSAPoll() watch sockets only,
// a connected pair of loopback TCP sockets. Both ends are nonblocking.
class wakeup {
public:
    wakeup();  // throws std::system_error
    socket_handle readable() const noexcept { return read_end_.get(); }
    // Async-signal-safe on POSIX (one write()). A notify() while one is pending may be lost
    // (the pipe is full): the reader is still woken once, which is all a wake-up promises.
    void notify() noexcept;
    // Reads every pending byte, so that readable() stops being ready.
    void drain() noexcept;

private:
    unique_socket read_end_;
    unique_socket write_end_;
};

}  // namespace rot13
