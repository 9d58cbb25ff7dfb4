// Winsock (Windows 10 and later). Sockets are handles, not descriptors; errors come from
// WSAGetLastError() and are translated to the errno names the servers test; the library
// must be started (WSAStartup) before the first call, which every function here that makes
// a socket does first. Built and run here only as a cross-compiled program under Wine:
// see servers/README.md, "Windows".
#include <cerrno>
#include <mutex>
#include <system_error>

#include "common/socket.hpp"

namespace rot13 {
namespace {

// Winsock 2.2, started once per process and never stopped: WSACleanup() at exit would only
// race with threads still closing their sockets.
void start_winsock() {
    static std::once_flag once;
    std::call_once(once, [] {
        WSADATA data;
        if (int error = ::WSAStartup(MAKEWORD(2, 2), &data); error != 0)
            throw std::system_error(error, std::system_category(), "cannot start Winsock 2.2 (WSAStartup)");
    });
}

// A socket for this interface: overlapped (so that IOCP and Asio can use it as well as
// blocking calls) and not inherited by child processes, like SOCK_CLOEXEC on Linux.
socket_handle open_socket(int family, int type, int protocol) {
    start_winsock();
    return ::WSASocketW(family, type, protocol, nullptr, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
}

}  // namespace

void close_socket(socket_handle s) noexcept { ::closesocket(s); }

int last_socket_error() noexcept {
    const int error = ::WSAGetLastError();
    switch (error) {
        case WSAEWOULDBLOCK: return EWOULDBLOCK;
        case WSAEINTR: return EINTR;
        case WSAEINPROGRESS: return EINPROGRESS;
        case WSAECONNRESET: return ECONNRESET;
        case WSAECONNABORTED: return ECONNABORTED;
        case WSAENETRESET: return ECONNRESET;
        case WSAESHUTDOWN: return EPIPE;  // a send after shutdown(): POSIX says EPIPE
        case WSAENOTCONN: return ENOTCONN;
        case WSAEMFILE: return EMFILE;
        case WSAENOBUFS: return ENOBUFS;
        case WSAEINVAL: return EINVAL;
        case WSAENOTSOCK: return ENOTSOCK;
        case WSAEADDRINUSE: return EADDRINUSE;
        case WSAEADDRNOTAVAIL: return EADDRNOTAVAIL;
        case WSAEACCES: return EACCES;
        case WSAEAFNOSUPPORT: return EAFNOSUPPORT;
        default: return error;
    }
}

// The translated code (so that callers compare e.code() with EADDRINUSE on every OS), and
// Windows' own text for the untranslated one, which says more than MinGW's strerror() can.
void throw_socket_error(const std::string& what) {
    const int error = ::WSAGetLastError();
    const int translated = last_socket_error();
    const std::string text = std::system_category().message(error);
    if (translated == error) throw std::system_error(error, std::system_category(), what);
    throw std::system_error(translated, std::generic_category(), what + ": " + text);
}

unique_socket open_tcp_socket(int family, const std::string& where) {
    unique_socket s(open_socket(family, SOCK_STREAM, IPPROTO_TCP));
    if (!s) throw_socket_error("cannot create a socket for " + where);
    return s;
}

void allow_rebinding(socket_handle, const std::string&) {}

void set_nonblocking(socket_handle s) {
    u_long on = 1;
    if (::ioctlsocket(s, FIONBIO, &on) != 0) throw_socket_error("cannot make a socket nonblocking");
}

void set_blocking(socket_handle s) noexcept {
    u_long off = 0;
    ::ioctlsocket(s, FIONBIO, &off);
}

int poll_sockets(pollfd* fds, std::size_t count, int timeout_ms) noexcept {
    return ::WSAPoll(fds, static_cast<ULONG>(count), timeout_ms);
}

bool fits_in_fd_set(socket_handle, std::size_t sockets_in_set) noexcept { return sockets_in_set < FD_SETSIZE; }

// shutdown() for the peer, CancelIoEx() for our own threads: a recv() that is already
// waiting is a pending operation on the socket's handle, and under Wine 8 shutdown() leaves
// it waiting while CancelIoEx() completes it with WSA_OPERATION_ABORTED.
void shutdown_socket(socket_handle s) noexcept {
    ::shutdown(s, SD_BOTH);
    ::CancelIoEx(reinterpret_cast<HANDLE>(s), nullptr);
}

unique_socket open_spare_descriptor() noexcept {
    try {
        return unique_socket(open_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP));
    } catch (const std::system_error&) {
        return unique_socket();
    }
}

// socketpair() does not exist on Windows: listen on an ephemeral loopback port, connect to
// it and accept, then close the listener. Nobody else can connect in between unnoticed: the
// accepted socket's peer must be our own connecting socket's address.
wakeup::wakeup() {
    unique_socket listener(open_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP));
    if (!listener) throw_socket_error("cannot create a wake-up socket");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int length = sizeof(address);
    if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        ::listen(listener.get(), 1) != 0 ||
        ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0)
        throw_socket_error("cannot listen for a wake-up socket pair on 127.0.0.1");
    write_end_.reset(open_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP));
    if (!write_end_ || ::connect(write_end_.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0)
        throw_socket_error("cannot connect a wake-up socket pair on 127.0.0.1");
    sockaddr_in writer{}, peer{};
    int writer_length = sizeof(writer), peer_length = sizeof(peer);
    read_end_.reset(::accept(listener.get(), reinterpret_cast<sockaddr*>(&peer), &peer_length));
    if (!read_end_ || ::getsockname(write_end_.get(), reinterpret_cast<sockaddr*>(&writer), &writer_length) != 0)
        throw_socket_error("cannot accept a wake-up socket pair on 127.0.0.1");
    if (peer.sin_port != writer.sin_port || peer.sin_addr.s_addr != writer.sin_addr.s_addr)
        throw std::system_error(ECONNREFUSED, std::generic_category(), "wake-up socket pair: a stranger connected first");
    // A wake-up byte must not wait for an ACK (Nagle).
    const int one = 1;
    ::setsockopt(write_end_.get(), IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char*>(&one), sizeof(one));
    set_nonblocking(read_end_.get());
    set_nonblocking(write_end_.get());
}

void wakeup::notify() noexcept {
    const char byte = 1;
    ::send(write_end_.get(), &byte, 1, 0);  // WSAEWOULDBLOCK: bytes are pending anyway
}

void wakeup::drain() noexcept {
    char bytes[256];
    while (::recv(read_end_.get(), bytes, sizeof(bytes), 0) > 0) {}
}

}  // namespace rot13
