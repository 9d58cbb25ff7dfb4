// Checking what a server sends back (step 3 of a connection's life, worker.cpp): the
// received bytes are framed into replies and compared with the expected reply tape
// (payload.hpp). It is a function of the bytes and of where the connection stands, with no
// socket, so that the tests and the fuzzer (tests/fuzz/) drive the very code the engine runs,
// with any bytes split at any points.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "loadgen/payload.hpp"

namespace loadgen {

// Where a connection stands in its replies on the current socket.
struct reply_cursor {
    std::size_t first_line = 0;  // payload line of the socket's line 0
    std::uint64_t done = 0;      // lines whose reply is complete (done <= written)
    std::uint64_t written = 0;   // lines sent
    std::size_t reply_pos = 0;   // bytes of the reply to line `done` received so far
};

// What one call found. The replies completed come first: a mismatch after them leaves
// them complete, as the bytes before the wrong one were right.
struct reply_check {
    std::uint64_t completed = 0;  // replies completed by these bytes (cursor.done moved by this many)
    bool mismatch = false;        // a byte differed from the tape, or came with no line in flight
    // For a mismatch: the reply it is in, counted from cursor.done on entry, the offset of
    // the first wrong byte in that reply, and a few bytes from there on, escaped.
    std::uint64_t reply = 0;
    std::size_t offset = 0;
    std::string expected;
    std::string received;
};

// Checks n received bytes against the replies to lines [cursor.done, cursor.written) and
// advances the cursor over every byte that is right. After a mismatch the cursor stands at
// the wrong byte; the connection is failed, so it is not used again.
reply_check check_replies(const payload& lines, reply_cursor& cursor, const char* data, std::size_t n);

// Bytes for a message: printable ASCII as is, \n \r \\ and \xNN for the rest.
std::string escape_bytes(const char* p, std::size_t n);

}  // namespace loadgen
