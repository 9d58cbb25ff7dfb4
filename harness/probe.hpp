// Talking to a server before the load: is the port open, and does it speak ROT13?
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace harness {

// True when a TCP connect to 127.0.0.1:port succeeds within timeout.
bool port_accepts(std::uint16_t port, std::chrono::milliseconds timeout);

// A port that was free a moment ago (bind 127.0.0.1:0, read it, close), for a custom
// command that takes {port} and may not say where it listens.
std::uint16_t pick_free_port();

struct probe_result {
    bool ok = false;
    bool protocol = false;  // the server answered, and wrongly
    std::string reason;     // "protocol: line 3 ...", "probe: connect: Connection refused"
};

// Sends a few pipelined lines (letters, every non-letter neighbour of the letters, NUL,
// '\r', bytes >= 0x80, an empty line) and checks every reply byte.
probe_result probe_rot13(std::uint16_t port, std::chrono::milliseconds timeout);

// Bytes for a message: printable ASCII as is, the rest as \xNN, cut after max bytes.
std::string escape_bytes(const std::string& bytes, std::size_t max = 48);

}  // namespace harness
