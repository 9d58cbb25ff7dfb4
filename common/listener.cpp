#include "listener.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstring>

#include "errors.hpp"

namespace rot13 {

unique_fd open_listener(const server_options& opts, bool nonblocking) {
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
    unique_fd fd(::socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) throw_errno("cannot create a socket for " + where);
    // Lets a restarted server bind its port again while old connections sit in TIME_WAIT.
    int one = 1;
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
        throw_errno("cannot set SO_REUSEADDR on " + where);
    // Replies often leave in more than one send() (a long line's pieces, a reply per read).
    // With Nagle's algorithm the kernel holds a small send back until the client ACKs the
    // previous one, and the client delays that ACK for up to 40 ms hoping to piggyback it on
    // data: a stall that would measure TCP timers, not the server. Accepted sockets inherit
    // TCP_NODELAY from the listener (Linux, the BSDs, macOS, Windows), so every variant
    // gets it from here.
    if (::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
        throw_errno("cannot set TCP_NODELAY on " + where);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&storage), length) < 0)
        throw_errno("cannot bind " + where);
    if (::listen(fd.get(), opts.backlog) < 0) throw_errno("cannot listen on " + where);
    if (nonblocking) set_nonblocking(fd.get());
    return fd;
}

std::string local_address(int fd) {
    sockaddr_storage storage{};
    socklen_t length = sizeof(storage);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) < 0)
        throw_errno("getsockname");
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

void announce_listening(int listener_fd) {
    std::printf("listening on %s\n", local_address(listener_fd).c_str());
    std::fflush(stdout);
}

void set_nonblocking(int fd) {
    int flags = ::fcntl(fd, F_GETFL, 0);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        throw_errno("cannot make fd " + std::to_string(fd) + " nonblocking");
}

}  // namespace rot13
