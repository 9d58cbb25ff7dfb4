// Test support: a small blocking-with-deadlines TCP client, and the protocol's reference
// model (what a correct server answers to any input), written independently of common/.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/fd.hpp"

namespace rot13::test {

using namespace std::chrono_literals;

// The replies a correct server sends for `input`, by the protocol's rules: each '\n'
// ends a line, a line reaching 16384 bytes is answered as it stands, a partial line at
// the end gets no reply, and only ASCII letters are rotated.
std::string expected_replies(std::string_view input);

// Thrown when a read or write does not finish in time, or the peer closes early.
struct client_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class client {
public:
    // Connects to 127.0.0.1:port (blocking connect, then nonblocking I/O with deadlines).
    static client connect_to(std::uint16_t port, std::chrono::milliseconds timeout = 5s);

    int fd() const { return fd_.get(); }

    // Sends everything or throws client_error after timeout.
    void send_all(std::string_view data, std::chrono::milliseconds timeout = 10s);

    // Sends as much as the socket takes now, without waiting. Returns bytes sent; 0 when
    // the socket buffer is full. Throws on a socket error.
    std::size_t send_some(std::string_view data);

    // Reads exactly n bytes, or throws client_error (timeout or EOF) saying how many arrived.
    std::string read_exactly(std::size_t n, std::chrono::milliseconds timeout = 10s);

    // Reads whatever is available within timeout; "" if nothing arrived.
    std::string read_available(std::chrono::milliseconds timeout);

    // Reads until EOF, or throws client_error on timeout.
    std::string read_until_eof(std::chrono::milliseconds timeout = 10s);

    void shutdown_write();

    // Closes with SO_LINGER 0: the kernel sends RST instead of FIN.
    void reset();

private:
    explicit client(int fd) : fd_(fd) {}
    rot13::unique_fd fd_;
};

// Opens a nonblocking connection to 127.0.0.1:port without waiting for it to complete
// (for opening many connections at once). Returns the fd; throws on immediate failure.
int start_connect(std::uint16_t port);

}  // namespace rot13::test
