// Deterministic input for the rot13 and framing benchmarks: text that looks like what
// clients send (words of letters, some capitals, digits, punctuation, spaces), the same
// on every platform and standard library (so no <random> distributions, whose output is
// implementation-defined).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace rot13::bench {

// A small xorshift generator: fixed seed, same sequence everywhere.
class sample_random {
public:
    std::uint32_t next() noexcept {
        state_ ^= state_ << 13;
        state_ ^= state_ >> 17;
        state_ ^= state_ << 5;
        return state_;
    }
    // A number in [low, high].
    std::uint32_t between(std::uint32_t low, std::uint32_t high) noexcept {
        return low + next() % (high - low + 1);
    }

private:
    std::uint32_t state_ = 0x13131313;
};

// Text of exactly `size` bytes, without newlines: words of 1-10 letters (one in eight
// starts with a capital), now and then a number or a punctuation mark, spaces between.
inline std::string sample_text(std::size_t size, sample_random& random) {
    static constexpr char punctuation[] = ".,;:!?'\"()-";
    std::string text;
    text.reserve(size + 16);
    while (text.size() < size) {
        std::uint32_t kind = random.between(0, 15);
        if (kind == 0) {
            text += std::to_string(random.between(0, 9999));
        } else if (kind == 1) {
            text += punctuation[random.between(0, sizeof(punctuation) - 2)];
        } else {
            std::uint32_t length = random.between(1, 10);
            for (std::uint32_t i = 0; i < length; ++i) {
                char first = (i == 0 && random.between(0, 7) == 0) ? 'A' : 'a';
                text += static_cast<char>(first + random.between(0, 25));
            }
        }
        text += ' ';
    }
    text.resize(size);
    return text;
}

}  // namespace rot13::bench
