// The listening socket: bind, SO_REUSEADDR, listen, and the readiness line.
#pragma once

#include <string>

#include "cli.hpp"
#include "fd.hpp"

namespace rot13 {

// Opens a TCP socket listening on opts.bind:opts.port with opts.backlog. Port 0 binds
// any free port (see local_address). Throws std::system_error naming the address.
// With nonblocking, the socket is O_NONBLOCK (for event loops that must never block in
// accept()).
unique_fd open_listener(const server_options& opts, bool nonblocking);

// "127.0.0.1:40713" or "[::1]:40713": the address the socket is actually bound to.
std::string local_address(int fd);

// Prints exactly "listening on ADDR:PORT\n" on stdout and flushes: the readiness line
// that the harness and the tests wait for.
void announce_listening(int listener_fd);

// Sets O_NONBLOCK on fd. Throws on failure.
void set_nonblocking(int fd);

}  // namespace rot13
