#include "loadgen/replies.hpp"

#include <algorithm>
#include <cstring>

namespace loadgen {

namespace {
constexpr std::size_t example_bytes = 24;
}

std::string escape_bytes(const char* p, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        auto c = static_cast<unsigned char>(p[i]);
        if (c == '\n')
            out += "\\n";
        else if (c == '\r')
            out += "\\r";
        else if (c == '\\')
            out += "\\\\";
        else if (c >= 0x20 && c < 0x7f)
            out += static_cast<char>(c);
        else {
            static constexpr char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// Replies of consecutive lines lie back to back on the reply tape, so one memcmp checks
// everything received up to the tape's end (usually the whole read); a second one goes on
// from the tape's start when the lines in flight wrap around it.
reply_check check_replies(const payload& pl, reply_cursor& cursor, const char* data, std::size_t n) {
    reply_check r;
    const std::size_t reply = pl.reply_stride();
    while (n > 0) {
        if (cursor.done == cursor.written) {
            // Bytes for a line that was never sent.
            r.mismatch = true;
            r.reply = r.completed;
            r.offset = cursor.reply_pos;
            r.expected = "(nothing: no line in flight)";
            r.received = escape_bytes(data, std::min(n, example_bytes));
            return r;
        }
        std::size_t line = (cursor.first_line + cursor.done) % pl.lines();
        const char* expected = pl.reply(line) + cursor.reply_pos;
        // As far as the tape goes without wrapping, and no further than the lines sent.
        std::size_t span = std::min<std::uint64_t>(pl.lines() - line, cursor.written - cursor.done) * reply -
                           cursor.reply_pos;
        std::size_t take = std::min(n, span);
        if (std::memcmp(data, expected, take) != 0) {
            std::size_t at = 0;
            while (data[at] == expected[at]) ++at;
            std::size_t in_reply = (cursor.reply_pos + at) % reply;
            r.mismatch = true;
            r.reply = r.completed + (cursor.reply_pos + at) / reply;
            r.offset = in_reply;
            r.expected = escape_bytes(expected + at, std::min(reply - in_reply, example_bytes));
            r.received = escape_bytes(data + at, std::min(n - at, example_bytes));
            // Stand at the wrong byte: the replies before it are complete.
            std::size_t whole = (cursor.reply_pos + at) / reply;
            cursor.reply_pos = in_reply;
            cursor.done += whole;
            r.completed += whole;
            return r;
        }
        std::size_t whole = (cursor.reply_pos + take) / reply;  // replies completed by these bytes
        cursor.reply_pos = (cursor.reply_pos + take) % reply;
        cursor.done += whole;
        r.completed += whole;
        data += take;
        n -= take;
    }
    return r;
}

}  // namespace loadgen
