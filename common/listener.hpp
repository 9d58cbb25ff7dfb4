// The listening socket: bind, quick rebinding, TCP_NODELAY, listen (listener.cpp, the same
// on every OS through common/socket.hpp), and the readiness line (listener_posix.cpp,
// listener_windows.cpp).
#pragma once

#include <string>

#include "cli.hpp"
#include "socket.hpp"

namespace rot13 {

// Opens a TCP socket listening on opts.bind:opts.port with opts.backlog. Port 0 binds
// any free port (see local_address). Throws std::system_error naming the address.
// With nonblocking, the socket is nonblocking (for event loops that must never block in
// accept()).
unique_socket open_listener(const server_options& opts, bool nonblocking);

// "127.0.0.1:40713" or "[::1]:40713": the address the socket is actually bound to.
std::string local_address(socket_handle s);

// Prints exactly "listening on ADDR:PORT\n" on stdout and flushes: the readiness line
// that the harness and the tests wait for. On Windows too the line ends in "\n" alone:
// stdout is switched to binary mode first, as the C runtime would otherwise write "\r\n".
void announce_listening(socket_handle listener);

}  // namespace rot13
