#include "harness/probe.hpp"

#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

#include "common/socket.hpp"

namespace harness {

using clock_type = std::chrono::steady_clock;

namespace {

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
}

int remaining_ms(clock_type::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

// A nonblocking connect that waits at most until deadline. Returns the socket, or an
// empty one with the reason (an errno value) in error.
rot13::unique_socket connect_until(std::uint16_t port, clock_type::time_point deadline, int& error) {
    rot13::unique_socket fd;
    try {
        fd = rot13::open_tcp_socket(AF_INET, "probe");
        rot13::set_nonblocking(fd.get());
    } catch (const std::system_error& e) {
        error = e.code().value();
        return {};
    }
    sockaddr_in addr = loopback(port);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) return fd;
    // POSIX says EINPROGRESS; Winsock says WSAEWOULDBLOCK (EWOULDBLOCK here).
    error = rot13::last_socket_error();
    if (error != EINPROGRESS && error != EWOULDBLOCK) return {};
    pollfd p{fd.get(), POLLOUT, 0};
    if (rot13::poll_sockets(&p, 1, remaining_ms(deadline)) != 1) {
        error = ETIMEDOUT;
        return {};
    }
    error = 0;
    socklen_t len = sizeof(error);
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, reinterpret_cast<char*>(&error), &len);
    if (error != 0) return {};
    return fd;
}

}  // namespace

std::string escape_bytes(const std::string& bytes, std::size_t max) {
    std::string out;
    for (std::size_t i = 0; i < bytes.size() && i < max; ++i) {
        auto c = static_cast<unsigned char>(bytes[i]);
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out += static_cast<char>(c);
        } else {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\x%02x", c);
            out += buf;
        }
    }
    if (bytes.size() > max) out += "...";
    return out;
}

bool port_accepts(std::uint16_t port, std::chrono::milliseconds timeout) {
    int error = 0;
    return static_cast<bool>(connect_until(port, clock_type::now() + timeout, error));
}

std::uint16_t pick_free_port() {
    rot13::unique_socket fd = rot13::open_tcp_socket(AF_INET, "socket");
    sockaddr_in addr = loopback(0);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
        rot13::throw_socket_error("bind 127.0.0.1:0");
    socklen_t len = sizeof(addr);
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        rot13::throw_socket_error("getsockname");
    return ntohs(addr.sin_port);
}

probe_result probe_rot13(std::uint16_t port, std::chrono::milliseconds timeout) {
    // Each line with its expected reply. The third holds every byte next to a letter
    // range ('@' '[' '`' '{'), which an off-by-one rot13 would change.
    static const char others[] = "@[`{ 0123456789 ~\0\r\t\x7f\x80\xc3\xa9\xff";
    static const std::vector<std::pair<std::string, std::string>> lines = {
        {"Hello, World!", "Uryyb, Jbeyq!"},
        {"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
         "nopqrstuvwxyzabcdefghijklmNOPQRSTUVWXYZABCDEFGHIJKLM"},
        {std::string(others, sizeof(others) - 1), std::string(others, sizeof(others) - 1)},
        {"", ""},
        {"rot13 Why did the chicken cross the road?", "ebg13 Jul qvq gur puvpxra pebff gur ebnq?"},
    };
    std::string request, expected;
    for (const auto& [line, reply] : lines) {
        request += line + '\n';
        expected += reply + '\n';
    }

    const auto deadline = clock_type::now() + timeout;
    probe_result result;
    int error = 0;
    rot13::unique_socket fd = connect_until(port, deadline, error);
    if (!fd) {
        result.reason =
            std::string("probe: connect to 127.0.0.1:") + std::to_string(port) + ": " + std::strerror(error);
        return result;
    }
    // The request is a few hundred bytes: it fits the socket's send buffer, and a send()
    // that would block is waited for. rot13-bench ignores SIGPIPE (install_signal_handlers),
    // so a reset connection is an error here, not the end of the harness.
    for (std::size_t sent = 0; sent < request.size();) {
        auto n = ::send(fd.get(), request.data() + sent, static_cast<int>(request.size() - sent), 0);
        if (n < 0 && rot13::last_socket_error() == EWOULDBLOCK) {
            pollfd p{fd.get(), POLLOUT, 0};
            if (rot13::poll_sockets(&p, 1, remaining_ms(deadline)) != 1) {
                result.reason = "probe: send timed out";
                return result;
            }
            continue;
        }
        if (n < 0) {
            result.reason = std::string("probe: send: ") + std::strerror(rot13::last_socket_error());
            return result;
        }
        sent += static_cast<std::size_t>(n);
    }
    std::string reply;
    bool closed = false;
    while (reply.size() < expected.size() && !closed) {
        pollfd p{fd.get(), POLLIN, 0};
        if (rot13::poll_sockets(&p, 1, remaining_ms(deadline)) != 1) break;
        char buf[4096];
        auto n = ::recv(fd.get(), buf, static_cast<int>(sizeof(buf)), 0);
        if (n > 0)
            reply.append(buf, static_cast<std::size_t>(n));
        else if (n == 0 || rot13::last_socket_error() != EWOULDBLOCK)
            closed = true;
    }
    if (reply == expected) {
        result.ok = true;
        return result;
    }
    // Name the first wrong line, with what was sent and what came back.
    std::size_t offset = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::string want = lines[i].second + '\n';
        std::string got = reply.substr(std::min(offset, reply.size()), want.size());
        if (got != want) {
            std::size_t at = 0;
            while (at < got.size() && got[at] == want[at]) ++at;
            result.protocol = !reply.empty();
            result.reason =
                (result.protocol ? "protocol: probe line " : "probe: no reply to line ") +
                std::to_string(i + 1) + ", byte " + std::to_string(at) + ": expected \"" +
                escape_bytes(want.substr(at), 16) + "\", got \"" + escape_bytes(got.substr(at), 16) + "\"" +
                (got.size() < want.size() ? (closed ? " (connection closed)" : " (timed out)") : "");
            return result;
        }
        offset += want.size();
    }
    result.protocol = true;
    result.reason = "protocol: probe: extra bytes after the replies";
    return result;
}

}  // namespace harness
