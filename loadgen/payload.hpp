// The lines rot13-load sends and the replies it expects, generated once from --seed.
//
// The payload is a "tape" of T lines of --size bytes, each followed by '\n', laid out one
// after the other, so that any run of consecutive lines is one contiguous buffer: a
// connection pipelining D lines sends them with one write and no copy. The bytes are
// letters (which ROT13 changes) and other bytes (digits, punctuation, NUL, '\r', bytes
// >= 0x80, which it must leave alone), never '\n'.
//
// The expected replies form a second tape, computed with rot13::rot13_copy and split as
// the protocol says (docs/protocol.md): a line of S bytes is answered in pieces of exactly
// max_line (16384) bytes, each followed by '\n', then the rest followed by '\n'; when S is
// a multiple of max_line (including 0) the rest is empty and the last reply is "\n" alone.
// Every line's reply therefore has the same length, S + S / max_line + 1 bytes, and a
// connection checks each received byte with one memcmp against this tape.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace loadgen {

// S + S / max_line + 1: the bytes the server sends back for one line of S bytes.
std::size_t reply_size(std::size_t line_size) noexcept;

// A small, fast, seedable generator (SplitMix64): the same seed gives the same payload on
// every platform, which std::mt19937 with std:: distributions does not promise.
class splitmix64 {
public:
    explicit splitmix64(std::uint64_t seed) noexcept : state_(seed) {}
    std::uint64_t next() noexcept {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    // Uniform in [0, 1).
    double next_double() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

private:
    std::uint64_t state_;
};

class payload {
public:
    payload(std::size_t line_size, std::uint64_t seed);

    std::size_t line_size() const noexcept { return line_size_; }
    std::size_t line_stride() const noexcept { return line_size_ + 1; }  // with its '\n'
    std::size_t reply_stride() const noexcept { return reply_size_; }
    std::size_t lines() const noexcept { return lines_; }

    // Line k (0 <= k < lines()) with its '\n'; lines k..k+n-1 are contiguous when k+n <= lines().
    const char* line(std::size_t k) const noexcept { return sent_.data() + k * line_stride(); }
    // The complete reply to line k.
    const char* reply(std::size_t k) const noexcept { return expected_.data() + k * reply_size_; }

private:
    std::size_t line_size_;
    std::size_t reply_size_;
    std::size_t lines_;
    std::string sent_;
    std::string expected_;
};

}  // namespace loadgen
