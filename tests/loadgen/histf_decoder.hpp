// An independent decoder of HdrHistogram's V2 compressed encoding, written from the
// format description (HdrHistogram_c's hdr_histogram_log.c, the Java AbstractHistogram),
// to check loadgen/hdr_log.cpp by round trip. It shares no code with the encoder.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace loadgen_test {

struct decoded_histogram {
    std::uint32_t cookie = 0;
    std::int32_t normalizing_index_offset = 0;
    std::int32_t significant_digits = 0;
    std::int64_t lowest = 0;
    std::int64_t highest = 0;
    double conversion_ratio = 0;
    std::vector<std::int64_t> counts;  // as many as the payload holds (up to the max's index)
    std::int64_t total() const {
        std::int64_t t = 0;
        for (auto c : counts) t += c;
        return t;
    }
};

inline std::vector<std::uint8_t> base64_decode(std::string_view text) {
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    std::vector<std::uint8_t> out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : text) {
        if (c == '=') break;
        int v = value(c);
        if (v < 0) throw std::runtime_error("bad base64");
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<std::uint8_t>(acc >> bits));
        }
    }
    return out;
}

inline std::uint64_t read_be(const std::uint8_t* p, int bytes) {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
    return v;
}

// ZigZag LEB128, HdrHistogram's 64-bit variant: up to 8 bytes of 7 bits, a 9th of 8 bits.
inline std::int64_t read_zigzag(const std::uint8_t*& p, const std::uint8_t* end) {
    std::uint64_t v = 0;
    for (int i = 0; i < 9; ++i) {
        if (p >= end) throw std::runtime_error("truncated varint");
        std::uint8_t b = *p++;
        if (i == 8) {
            v |= static_cast<std::uint64_t>(b) << 56;
            break;
        }
        v |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) break;
    }
    return static_cast<std::int64_t>((v >> 1) ^ (~(v & 1) + 1));
}

inline decoded_histogram decode_histf(std::string_view base64) {
    std::vector<std::uint8_t> compressed = base64_decode(base64);
    if (compressed.size() < 8) throw std::runtime_error("too short");
    if (read_be(compressed.data(), 4) != 0x1c849314u)
        throw std::runtime_error("not a V2 compressed histogram");
    auto length = static_cast<uLong>(read_be(compressed.data() + 4, 4));
    if (length != compressed.size() - 8) throw std::runtime_error("compressed length mismatch");
    std::vector<std::uint8_t> plain(1 << 22);
    uLongf plain_length = plain.size();
    if (uncompress(plain.data(), &plain_length, compressed.data() + 8, length) != Z_OK)
        throw std::runtime_error("zlib uncompress failed");
    plain.resize(plain_length);

    decoded_histogram h;
    const std::uint8_t* p = plain.data();
    h.cookie = static_cast<std::uint32_t>(read_be(p, 4));
    if (h.cookie != 0x1c849313u) throw std::runtime_error("not a V2 encoding");
    auto payload = static_cast<std::size_t>(read_be(p + 4, 4));
    h.normalizing_index_offset = static_cast<std::int32_t>(read_be(p + 8, 4));
    h.significant_digits = static_cast<std::int32_t>(read_be(p + 12, 4));
    h.lowest = static_cast<std::int64_t>(read_be(p + 16, 8));
    h.highest = static_cast<std::int64_t>(read_be(p + 24, 8));
    std::uint64_t ratio_bits = read_be(p + 32, 8);
    std::memcpy(&h.conversion_ratio, &ratio_bits, 8);
    if (40 + payload != plain.size()) throw std::runtime_error("payload length mismatch");
    const std::uint8_t* q = plain.data() + 40;
    const std::uint8_t* end = plain.data() + plain.size();
    while (q < end) {
        std::int64_t v = read_zigzag(q, end);
        if (v < 0)
            h.counts.insert(h.counts.end(), static_cast<std::size_t>(-v), 0);
        else
            h.counts.push_back(v);
    }
    return h;
}

}  // namespace loadgen_test
