// The constants of the ROT13 line protocol (docs/protocol.md) shared by every server,
// the load generator and the tests.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rot13 {

// The book's port. It lies inside Linux's ephemeral range, so tests always use --port 0.
inline constexpr std::uint16_t default_port = 40713;

// A line longer than this is answered in pieces of exactly max_line bytes, each followed
// by '\n', so that a server's memory per connection is bounded and clients can predict
// every reply byte.
inline constexpr std::size_t max_line = 16384;

// When a connection has more than this many reply bytes waiting to be sent, the server
// stops reading from it until the backlog drains (backpressure): a client that sends
// without reading cannot make the server buffer without bound.
inline constexpr std::size_t max_pending_output = 1024 * 1024;

}  // namespace rot13
