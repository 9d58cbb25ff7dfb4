// libFuzzer target: rot13-load's reply framer and verifier (loadgen/replies.cpp), the code
// that reads every byte a server sends. The input picks a line size, how many lines are in
// flight and where on the payload tape they start, the bytes "received" (arbitrary, or the
// right replies with one byte changed and bytes appended) and the points where the reads
// split them. Checked against a reference written from the protocol (docs/protocol.md),
// byte by byte, independent of the payload's reply tape:
//   1. the replies completed, the mismatch and its reply, offset and examples are exactly
//      the reference's, however the bytes are split (a split point changes nothing);
//   2. the cursor never leaves its bounds (done <= written, reply_pos < reply size).
// Any difference aborts, and so do ASan and UBSan reports.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/protocol.hpp"
#include "loadgen/payload.hpp"
#include "loadgen/replies.hpp"

namespace {

using loadgen::payload;

// Line sizes around the protocol's edges: empty lines, short ones, and lines just under,
// at and over max_line (answered in pieces), and one of several pieces.
constexpr std::size_t line_sizes[] = {
    0, 1, 3, 16, 100, rot13::max_line - 1, rot13::max_line, rot13::max_line + 1, 2 * rot13::max_line + 5};

// A payload costs about a millisecond to build: one per line size, built once.
const payload& payload_for(std::size_t size) {
    static std::map<std::size_t, std::unique_ptr<payload>> cache;
    auto& p = cache[size];
    if (!p) p = std::make_unique<payload>(size, 0x5eed + size);
    return *p;
}

char rot13_byte(char c) {
    if (c >= 'a' && c <= 'z') return static_cast<char>('a' + (c - 'a' + 13) % 26);
    if (c >= 'A' && c <= 'Z') return static_cast<char>('A' + (c - 'A' + 13) % 26);
    return c;
}

// The reply to one line as the protocol defines it: the ROT13 of the line in pieces of
// max_line bytes, each followed by '\n', then the rest followed by '\n' (the rest may be
// empty: a line of exactly max_line bytes is answered with two lines, the second empty).
std::string reference_reply(const char* line, std::size_t size) {
    std::string out;
    for (std::size_t i = 0; i < size; ++i) {
        out += rot13_byte(line[i]);
        if ((i + 1) % rot13::max_line == 0) out += '\n';
    }
    out += '\n';
    return out;
}

// The reference reply to line k of the payload for this size, computed once.
const std::string& reference_reply_to(const payload& pl, std::size_t k) {
    static std::map<std::pair<const payload*, std::size_t>, std::string> cache;
    auto [it, fresh] = cache.try_emplace({&pl, k});
    if (fresh) it->second = reference_reply(pl.line(k), pl.line_size());
    return it->second;
}

[[noreturn]] void fail(const char* what, std::size_t a, std::size_t b) {
    std::fprintf(stderr, "replies_fuzz: %s (%zu vs %zu)\n", what, a, b);
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    const std::size_t line_size =
        line_sizes[in.ConsumeIntegralInRange<std::size_t>(0, std::size(line_sizes) - 1)];
    const payload& pl = payload_for(line_size);
    const std::size_t reply_size = pl.reply_stride();
    if (reply_size != line_size + line_size / rot13::max_line + 1) fail("reply size", reply_size, line_size);

    // Lines in flight: at most ~128 KiB of replies, so that one input stays fast.
    const std::size_t first_line = in.ConsumeIntegral<std::uint16_t>() % pl.lines();
    const std::uint64_t most = std::max<std::size_t>(2, (128 << 10) / reply_size);
    const std::uint64_t written =
        in.ConsumeIntegralInRange<std::uint64_t>(0, std::min<std::uint64_t>(most, 64));

    // What the server sends: arbitrary bytes, or the right ones cut short, with one byte
    // changed and some bytes appended.
    const std::size_t right_size = written * reply_size;
    const bool arbitrary = in.ConsumeBool();
    std::vector<std::size_t> splits;
    for (int i = in.ConsumeIntegralInRange(0, 8); i > 0; --i)
        splits.push_back(in.ConsumeIntegralInRange<std::size_t>(1, 2 * reply_size + 2));
    std::size_t cut = 0, changed = SIZE_MAX;
    int change = 0;
    if (!arbitrary) {
        cut = in.ConsumeIntegralInRange<std::size_t>(0, right_size);
        if (cut > 0 && in.ConsumeBool()) {
            changed = in.ConsumeIntegralInRange<std::size_t>(0, cut - 1);
            change = in.ConsumeIntegralInRange<int>(1, 255);
        }
    }
    std::string tail = in.ConsumeRemainingBytesAsString();

    // What the server should send, from the reference: the replies to the lines in flight,
    // as far as the received bytes go.
    std::string right;
    const std::size_t needed = std::min<std::size_t>(cut + tail.size(), right_size);
    right.reserve(needed + reply_size);
    for (std::uint64_t k = 0; right.size() < needed; ++k)
        right += reference_reply_to(pl, (first_line + k) % pl.lines());
    std::string received = right.substr(0, cut);
    if (changed != SIZE_MAX) received[changed] = static_cast<char>(received[changed] ^ change);
    received += tail;

    // The reference verdict: the first byte that differs from `right` (or lies past the
    // replies to the lines in flight).
    std::size_t wrong = 0;
    while (wrong < received.size() && wrong < right.size() && received[wrong] == right[wrong]) ++wrong;
    const bool ref_mismatch = wrong < received.size();
    const std::uint64_t ref_completed = wrong / reply_size;

    // The code under test, read by read.
    loadgen::reply_cursor cursor{first_line, 0, written, 0};
    std::uint64_t completed = 0;
    std::size_t pos = 0, next_split = 0;
    while (pos < received.size()) {
        std::size_t n = splits.empty() ? received.size() - pos : splits[next_split++ % splits.size()];
        n = std::min(n, received.size() - pos);
        const std::uint64_t done_before = cursor.done;
        loadgen::reply_check r = loadgen::check_replies(pl, cursor, received.data() + pos, n);
        completed += r.completed;
        if (cursor.done != done_before + r.completed)
            fail("cursor.done moved by other than completed", cursor.done, r.completed);
        if (cursor.done > cursor.written) fail("done past written", cursor.done, cursor.written);
        if (cursor.reply_pos >= reply_size) fail("reply_pos past the reply", cursor.reply_pos, reply_size);
        if (r.mismatch) {
            if (!ref_mismatch) fail("a mismatch the reference does not see", pos, received.size());
            const std::uint64_t reply = done_before + r.reply;
            if (reply != wrong / reply_size) fail("mismatch in another reply", reply, wrong / reply_size);
            if (wrong < pos || wrong >= pos + n) fail("mismatch outside this read", wrong, pos);
            std::size_t shown = std::min<std::size_t>(pos + n - wrong, 24);
            if (r.received != loadgen::escape_bytes(received.data() + wrong, shown))
                fail("received example", wrong, shown);
            if (wrong >= right_size) {
                if (r.expected != "(nothing: no line in flight)") fail("expected for no line", wrong, 0);
            } else {
                if (r.offset != wrong % reply_size) fail("mismatch offset", r.offset, wrong % reply_size);
                std::size_t len = std::min<std::size_t>(reply_size - r.offset, 24);
                if (r.expected != loadgen::escape_bytes(right.data() + wrong, len))
                    fail("expected example", wrong, len);
            }
            break;
        }
        if (r.completed != (pos + n) / reply_size - pos / reply_size)
            fail("completed in this read", r.completed, n);
        pos += n;
    }
    if (completed != ref_completed) fail("replies completed", completed, ref_completed);
    if (!ref_mismatch && cursor.reply_pos != received.size() % reply_size)
        fail("bytes of the current reply", cursor.reply_pos, received.size() % reply_size);
    return 0;
}
