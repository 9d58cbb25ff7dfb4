#include "listener.hpp"

#include <cerrno>

#include "errors.hpp"
#include "signals.hpp"

namespace rot13 {

unique_socket open_listener(const server_options& opts, bool nonblocking) {
    // Every server calls this once, after installing its stop handling and before it
    // announces itself: the one shared step of start-up that sees the options.
    if (opts.stop_on_stdin_close) stop_when_stdin_closes();
    sockaddr_storage storage{};
    socklen_t length = 0;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
    if (inet_pton(AF_INET, opts.bind.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(opts.port);
        length = sizeof(*v4);
    } else if (inet_pton(AF_INET6, opts.bind.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(opts.port);
        length = sizeof(*v6);
    } else {
        throw std::system_error(EINVAL, std::generic_category(),
                                "'" + opts.bind + "' is not an IPv4 or IPv6 address");
    }

    const std::string where = opts.bind + ":" + std::to_string(opts.port);
    unique_socket fd = open_tcp_socket(storage.ss_family, where);
    allow_rebinding(fd.get(), where);
    // Replies often leave in more than one send() (a long line's pieces, a reply per read).
    // With Nagle's algorithm the kernel holds a small send back until the client ACKs the
    // previous one, and the client delays that ACK for up to 40 ms hoping to piggyback it on
    // data: a stall that would measure TCP timers, not the server. Accepted sockets inherit
    // TCP_NODELAY from the listener (Linux, the BSDs, macOS, Windows), so every variant
    // gets it from here.
    // (The cast: Winsock's setsockopt takes a const char*, POSIX's a const void*.)
    const int one = 1;
    if (::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char*>(&one), sizeof(one)) != 0)
        throw_socket_error("cannot set TCP_NODELAY on " + where);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&storage), length) != 0)
        throw_socket_error("cannot bind " + where);
    if (::listen(fd.get(), opts.backlog) != 0) throw_socket_error("cannot listen on " + where);
    if (nonblocking) set_nonblocking(fd.get());
    return fd;
}

std::string local_address(socket_handle s) {
    sockaddr_storage storage{};
    socklen_t length = sizeof(storage);
    if (::getsockname(s, reinterpret_cast<sockaddr*>(&storage), &length) != 0)
        throw_socket_error("getsockname");
    char text[INET6_ADDRSTRLEN] = {};
    if (storage.ss_family == AF_INET6) {
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
        inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
        // Built by appending: GCC 12 gives a false -Wrestrict warning for "[" + std::string.
        std::string address = "[";
        address += text;
        address += "]:";
        address += std::to_string(ntohs(v6->sin6_port));
        return address;
    }
    auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
    return std::string(text) + ":" + std::to_string(ntohs(v4->sin_port));
}

}  // namespace rot13
