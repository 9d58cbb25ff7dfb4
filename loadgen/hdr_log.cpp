#include "loadgen/hdr_log.hpp"

#include <zlib.h>

#include <bit>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "loadgen/utc_time.hpp"

namespace loadgen {
namespace {

void put_be32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

void put_be64(std::vector<std::uint8_t>& out, std::uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

void patch_be32(std::vector<std::uint8_t>& out, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i)
        out[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}

}  // namespace

void put_zigzag(std::vector<std::uint8_t>& out, std::int64_t signed_value) {
    auto value =
        (static_cast<std::uint64_t>(signed_value) << 1) ^ static_cast<std::uint64_t>(signed_value >> 63);
    // Eight groups of 7 bits with a continuation bit, then (if still needed) the top 8 bits whole.
    for (int i = 0; i < 8; ++i) {
        if ((value >> 7) == 0) {
            out.push_back(static_cast<std::uint8_t>(value));
            return;
        }
        out.push_back(static_cast<std::uint8_t>((value & 0x7f) | 0x80));
        value >>= 7;
    }
    out.push_back(static_cast<std::uint8_t>(value));
}

std::vector<std::uint8_t> encode_v2(const histogram& h) {
    std::vector<std::uint8_t> out;
    put_be32(out, hdr_v2_encoding_cookie);
    std::size_t payload_length_at = out.size();
    put_be32(out, 0);  // payload length, patched below
    put_be32(out, 0);  // normalizing index offset: we never shift the counts
    put_be32(out, static_cast<std::uint32_t>(h.significant_digits()));
    put_be64(out, static_cast<std::uint64_t>(h.lowest_discernible()));
    put_be64(out, static_cast<std::uint64_t>(h.highest_trackable()));
    put_be64(out, std::bit_cast<std::uint64_t>(1.0));  // integer-to-double conversion ratio
    std::size_t payload_start = out.size();

    // Only the counters up to the maximum's are written; readers take the rest as zero.
    std::size_t limit = h.count() ? h.index_of(h.max()) + 1 : 0;
    for (std::size_t i = 0; i < limit;) {
        std::int64_t count = h.count_at_index(i++);
        if (count != 0) {
            put_zigzag(out, count);
            continue;
        }
        std::int64_t zeros = 1;
        while (i < limit && h.count_at_index(i) == 0) {
            ++zeros;
            ++i;
        }
        put_zigzag(out, zeros > 1 ? -zeros : 0);
    }
    patch_be32(out, payload_length_at, static_cast<std::uint32_t>(out.size() - payload_start));
    return out;
}

std::vector<std::uint8_t> encode_v2_compressed(const histogram& h) {
    std::vector<std::uint8_t> plain = encode_v2(h);
    uLongf compressed_length = compressBound(static_cast<uLong>(plain.size()));
    std::vector<std::uint8_t> out(8 + compressed_length);
    if (compress(out.data() + 8, &compressed_length, plain.data(), static_cast<uLong>(plain.size())) != Z_OK)
        throw std::runtime_error("zlib compress failed");
    out.resize(8 + compressed_length);
    patch_be32(out, 0, hdr_v2_compressed_cookie);
    patch_be32(out, 4, static_cast<std::uint32_t>(compressed_length));
    return out;
}

std::string base64_encode(std::span<const std::uint8_t> bytes) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        std::uint32_t v = (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
        for (int shift = 18; shift >= 0; shift -= 6) out += alphabet[(v >> shift) & 63];
    }
    if (std::size_t rest = bytes.size() - i; rest > 0) {
        std::uint32_t v = std::uint32_t{bytes[i]} << 16;
        if (rest == 2) v |= std::uint32_t{bytes[i + 1]} << 8;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += rest == 2 ? alphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

hdr_log_writer::hdr_log_writer(std::ostream& out, double start_time_epoch_s, std::string_view comment)
    : out_(out) {
    std::chrono::seconds start(static_cast<std::int64_t>(start_time_epoch_s));
    std::string date = utc_iso8601(std::chrono::sys_seconds(start));
    char line[160];
    if (!comment.empty()) out_ << "#[" << comment << "]\n";
    out_ << "#[Histogram log format version 1.3]\n";
    std::snprintf(line, sizeof(line), "#[StartTime: %.3f (seconds since epoch), %s]\n", start_time_epoch_s,
                  date.c_str());
    out_ << line;
    out_ << "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n";
}

void hdr_log_writer::write_interval(const histogram& h, double start_s, double length_s,
                                    std::string_view tag) {
    char prefix[96];
    std::snprintf(prefix, sizeof(prefix), "%.3f,%.3f,%.3f,", start_s, length_s,
                  static_cast<double>(h.max()) / 1e6);
    if (!tag.empty()) out_ << "Tag=" << tag << ',';
    out_ << prefix << base64_encode(encode_v2_compressed(h)) << '\n';
}

}  // namespace loadgen
