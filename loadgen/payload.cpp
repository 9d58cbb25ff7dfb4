#include "loadgen/payload.hpp"

#include <algorithm>

#include "common/protocol.hpp"
#include "common/rot13.hpp"

namespace loadgen {
namespace {

// About 1 MiB of distinct lines, at least one, at most 4096: enough variety that a server
// which mixes up connections or lines is caught, little enough to stay in cache.
constexpr std::size_t tape_bytes = 1 << 20;
constexpr std::size_t max_tape_lines = 4096;

char payload_byte(splitmix64& rng) {
    static constexpr char others[] = "0123456789 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    std::uint64_t r = rng.next();
    unsigned pick = static_cast<unsigned>(r % 100);
    r >>= 8;
    if (pick < 35) return static_cast<char>('a' + r % 26);
    if (pick < 70) return static_cast<char>('A' + r % 26);
    if (pick < 85) return others[r % (sizeof(others) - 1)];
    if (pick < 93) {
        // Control bytes, NUL and '\r' among them; never '\n', which would end the line.
        auto c = static_cast<char>(r % 32);
        return c == '\n' ? '\r' : c;
    }
    return static_cast<char>(0x80 + r % 128);  // bytes >= 0x80: not letters in any locale we use
}

}  // namespace

std::size_t reply_size(std::size_t line_size) noexcept {
    return line_size + line_size / rot13::max_line + 1;
}

payload::payload(std::size_t line_size, std::uint64_t seed)
    : line_size_(line_size),
      reply_size_(reply_size(line_size)),
      lines_(std::clamp<std::size_t>(tape_bytes / (line_size + 1), 1, max_tape_lines)) {
    splitmix64 rng(seed);
    sent_.resize(lines_ * line_stride());
    for (std::size_t k = 0; k < lines_; ++k) {
        char* p = sent_.data() + k * line_stride();
        for (std::size_t i = 0; i < line_size_; ++i) p[i] = payload_byte(rng);
        p[line_size_] = '\n';
    }

    expected_.reserve(lines_ * reply_size_);
    std::string piece;
    for (std::size_t k = 0; k < lines_; ++k) {
        const char* p = line(k);
        std::size_t off = 0;
        // Full pieces of max_line bytes: the server answers each as it reaches max_line.
        while (line_size_ - off >= rot13::max_line) {
            piece.resize(rot13::max_line);
            rot13::rot13_copy({p + off, rot13::max_line}, piece.data());
            expected_ += piece;
            expected_ += '\n';
            off += rot13::max_line;
        }
        // The rest, answered at the '\n' (possibly empty: then the reply is "\n" alone).
        piece.resize(line_size_ - off);
        rot13::rot13_copy({p + off, piece.size()}, piece.data());
        expected_ += piece;
        expected_ += '\n';
    }
}

}  // namespace loadgen
