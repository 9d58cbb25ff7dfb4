#include "client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rot13::test {

using clock = std::chrono::steady_clock;

namespace {

char model_rot13(char c) {
    if (c >= 'a' && c <= 'z') return static_cast<char>('a' + (c - 'a' + 13) % 26);
    if (c >= 'A' && c <= 'Z') return static_cast<char>('A' + (c - 'A' + 13) % 26);
    return c;
}

int remaining_ms(clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    return left < 0 ? 0 : static_cast<int>(left);
}

bool wait_for(int fd, short events, clock::time_point deadline) {
    for (;;) {
        pollfd p{fd, events, 0};
        int r = ::poll(&p, 1, remaining_ms(deadline));
        if (r > 0) return true;
        if (r == 0) return false;
        if (errno != EINTR) throw client_error(std::string("poll: ") + std::strerror(errno));
    }
}

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

}  // namespace

std::string expected_replies(std::string_view input) {
    std::string out;
    std::string line;
    for (char c : input) {
        if (c == '\n') {
            out += line;
            out += '\n';
            line.clear();
            continue;
        }
        line += model_rot13(c);
        if (line.size() == 16384) {
            out += line;
            out += '\n';
            line.clear();
        }
    }
    return out;  // the partial line left in `line` gets no reply
}

int start_connect(std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw client_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in address = loopback(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) < 0 && errno != EINPROGRESS) {
        int saved = errno;
        ::close(fd);
        throw client_error(std::string("connect: ") + std::strerror(saved));
    }
    return fd;
}

client client::connect_to(std::uint16_t port, std::chrono::milliseconds timeout) {
    client c(start_connect(port));
    if (!wait_for(c.fd(), POLLOUT, clock::now() + timeout)) throw client_error("connect timed out");
    int error = 0;
    socklen_t length = sizeof(error);
    ::getsockopt(c.fd(), SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) throw client_error(std::string("connect: ") + std::strerror(error));
    int one = 1;
    ::setsockopt(c.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return c;
}

std::size_t client::send_some(std::string_view data) {
    ssize_t n = ::send(fd(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
    throw client_error(std::string("send: ") + std::strerror(errno));
}

void client::send_all(std::string_view data, std::chrono::milliseconds timeout) {
    const auto deadline = clock::now() + timeout;
    while (!data.empty()) {
        std::size_t n = send_some(data);
        data.remove_prefix(n);
        if (n == 0 && !wait_for(fd(), POLLOUT, deadline))
            throw client_error("send timed out with " + std::to_string(data.size()) + " bytes unsent");
    }
}

std::string client::read_exactly(std::size_t n, std::chrono::milliseconds timeout) {
    const auto deadline = clock::now() + timeout;
    std::string out;
    out.reserve(n);
    char buf[65536];
    while (out.size() < n) {
        if (!wait_for(fd(), POLLIN, deadline))
            throw client_error("timed out after reading " + std::to_string(out.size()) + " of " +
                               std::to_string(n) + " bytes");
        ssize_t r = ::recv(fd(), buf, std::min(sizeof(buf), n - out.size()), 0);
        if (r > 0) {
            out.append(buf, static_cast<std::size_t>(r));
        } else if (r == 0) {
            throw client_error("connection closed after " + std::to_string(out.size()) + " of " +
                               std::to_string(n) + " bytes");
        } else if (errno != EAGAIN && errno != EINTR) {
            throw client_error(std::string("recv: ") + std::strerror(errno) + " after " +
                               std::to_string(out.size()) + " bytes");
        }
    }
    return out;
}

std::string client::read_available(std::chrono::milliseconds timeout) {
    std::string out;
    char buf[65536];
    if (!wait_for(fd(), POLLIN, clock::now() + timeout)) return out;
    for (;;) {
        ssize_t r = ::recv(fd(), buf, sizeof(buf), 0);
        if (r <= 0) return out;
        out.append(buf, static_cast<std::size_t>(r));
    }
}

std::string client::read_until_eof(std::chrono::milliseconds timeout) {
    const auto deadline = clock::now() + timeout;
    std::string out;
    char buf[65536];
    for (;;) {
        if (!wait_for(fd(), POLLIN, deadline))
            throw client_error("no EOF within the timeout; read " + std::to_string(out.size()) + " bytes");
        ssize_t r = ::recv(fd(), buf, sizeof(buf), 0);
        if (r > 0) {
            out.append(buf, static_cast<std::size_t>(r));
        } else if (r == 0) {
            return out;
        } else if (errno != EAGAIN && errno != EINTR) {
            throw client_error(std::string("recv: ") + std::strerror(errno));
        }
    }
}

void client::shutdown_write() { ::shutdown(fd(), SHUT_WR); }

void client::reset() {
    linger hard{1, 0};
    ::setsockopt(fd(), SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
    fd_.reset();
}

}  // namespace rot13::test
