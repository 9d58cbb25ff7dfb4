// HdrHistogram's interval-log format with V2-compressed histograms ("HISTF…"), so that
// HdrHistogram's own tools (HistogramLogProcessor, HdrHistogram_c's hdr_log_read, the
// Python and JavaScript ports) read what rot13-load measured.
//
// One histogram is encoded as (all integers big-endian):
//   uncompressed: cookie 0x1c849313 (V2 base 0x1c849303 | word-size nibble 0x10),
//                 payload length, normalizing index offset (0), significant digits,
//                 lowest discernible value (8 bytes), highest trackable value (8 bytes),
//                 integer-to-double conversion ratio (IEEE double, 1.0), then the payload:
//                 the counts up to the maximum's counter as ZigZag LEB128 varints (at most
//                 9 bytes each), a run of k > 1 zero counters written as the single value -k.
//   compressed:   cookie 0x1c849314 (V2 compressed base 0x1c849304 | 0x10), the length of
//                 the zlib stream, the zlib stream (deflate with zlib header) of the above.
// The log line is base64 of the compressed form; its first bytes 1c 84 93 14 are "HISTF".
#pragma once

#include <cstdint>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "loadgen/histogram.hpp"

namespace loadgen {

inline constexpr std::uint32_t hdr_v2_encoding_cookie = 0x1c849303u | 0x10u;
inline constexpr std::uint32_t hdr_v2_compressed_cookie = 0x1c849304u | 0x10u;

// Appends value as a ZigZag LEB128 varint in HdrHistogram's 64-bit form (the ninth byte,
// when needed, carries 8 bits instead of 7).
void put_zigzag(std::vector<std::uint8_t>& out, std::int64_t value);

std::vector<std::uint8_t> encode_v2(const histogram& h);
std::vector<std::uint8_t> encode_v2_compressed(const histogram& h);  // throws on zlib failure
std::string base64_encode(std::span<const std::uint8_t> bytes);

// Writes the log header on construction and one line per interval.
//   #[Histogram log format version 1.3]
//   #[StartTime: 1700000000.123 (seconds since epoch), 2023-11-14T22:13:20Z]
//   "StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"
//   Tag=corrected,0.000,1.000,0.153,HISTFAAAA…
// Timestamps are seconds relative to StartTime; Interval_Max is in milliseconds (the
// histograms are in nanoseconds: HdrHistogram's default max-value unit ratio of 1e6).
class hdr_log_writer {
public:
    hdr_log_writer(std::ostream& out, double start_time_epoch_s, std::string_view comment);
    void write_interval(const histogram& h, double start_s, double length_s, std::string_view tag);

private:
    std::ostream& out_;
};

}  // namespace loadgen
