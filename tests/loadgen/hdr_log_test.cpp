// HdrHistogram's V2 encoding and interval log, checked by an independent decoder.
#include "loadgen/hdr_log.hpp"

#include <gtest/gtest.h>

#include <random>
#include <sstream>

#include "histf_decoder.hpp"

namespace {

using loadgen::histogram;

std::vector<std::uint8_t> zigzag(std::int64_t v) {
    std::vector<std::uint8_t> out;
    loadgen::put_zigzag(out, v);
    return out;
}

TEST(HdrLog, ZigZagLeb128MatchesHdrHistogram) {
    EXPECT_EQ(zigzag(0), (std::vector<std::uint8_t>{0x00}));
    EXPECT_EQ(zigzag(-1), (std::vector<std::uint8_t>{0x01}));
    EXPECT_EQ(zigzag(1), (std::vector<std::uint8_t>{0x02}));
    EXPECT_EQ(zigzag(63), (std::vector<std::uint8_t>{0x7e}));
    EXPECT_EQ(zigzag(-64), (std::vector<std::uint8_t>{0x7f}));
    EXPECT_EQ(zigzag(64), (std::vector<std::uint8_t>{0x80, 0x01}));
    EXPECT_EQ(zigzag(300), (std::vector<std::uint8_t>{0xd8, 0x04}));
    // The 64-bit form ends with a ninth byte holding 8 bits.
    EXPECT_EQ(zigzag(INT64_MAX).size(), 9u);
    EXPECT_EQ(zigzag(INT64_MIN).size(), 9u);
    for (std::int64_t v :
         {INT64_MAX, INT64_MIN, std::int64_t{1} << 62, -(std::int64_t{1} << 55), std::int64_t{123456789}}) {
        auto bytes = zigzag(v);
        const std::uint8_t* p = bytes.data();
        EXPECT_EQ(loadgen_test::read_zigzag(p, bytes.data() + bytes.size()), v);
        EXPECT_EQ(p, bytes.data() + bytes.size());
    }
}

TEST(HdrLog, CompressedEncodingStartsWithHistfAndTheV2Cookies) {
    histogram h;
    h.record(1000);
    std::string text = loadgen::base64_encode(loadgen::encode_v2_compressed(h));
    EXPECT_EQ(text.substr(0, 5), "HISTF");
    auto plain = loadgen::encode_v2(h);
    EXPECT_EQ(loadgen_test::read_be(plain.data(), 4), 0x1c849313u);
}

TEST(HdrLog, RoundTripKeepsEveryCountAndTheHeader) {
    histogram h;
    std::mt19937_64 rng(5);
    std::lognormal_distribution<double> latency(std::log(80'000.0), 1.5);
    for (int i = 0; i < 100000; ++i) h.record(static_cast<std::int64_t>(latency(rng)));
    h.record_n(3'000'000'000, 42);  // a long run of empty counters before this one

    auto decoded = loadgen_test::decode_histf(loadgen::base64_encode(loadgen::encode_v2_compressed(h)));
    EXPECT_EQ(decoded.significant_digits, 3);
    EXPECT_EQ(decoded.lowest, 1);
    EXPECT_EQ(decoded.highest, h.highest_trackable());
    EXPECT_EQ(decoded.normalizing_index_offset, 0);
    EXPECT_DOUBLE_EQ(decoded.conversion_ratio, 1.0);
    ASSERT_EQ(decoded.counts.size(), h.index_of(h.max()) + 1);
    for (std::size_t i = 0; i < decoded.counts.size(); ++i)
        ASSERT_EQ(decoded.counts[i], h.count_at_index(i)) << i;
    EXPECT_EQ(decoded.total(), h.count());
}

TEST(HdrLog, EmptyHistogramEncodesNoCounts) {
    histogram h;
    auto decoded = loadgen_test::decode_histf(loadgen::base64_encode(loadgen::encode_v2_compressed(h)));
    EXPECT_TRUE(decoded.counts.empty());
}

TEST(HdrLog, Base64MatchesRfc4648) {
    auto b64 = [](std::string_view s) {
        return loadgen::base64_encode({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
    };
    EXPECT_EQ(b64(""), "");
    EXPECT_EQ(b64("f"), "Zg==");
    EXPECT_EQ(b64("fo"), "Zm8=");
    EXPECT_EQ(b64("foo"), "Zm9v");
    EXPECT_EQ(b64("foobar"), "Zm9vYmFy");
}

TEST(HdrLog, IntervalLogHasTheHeaderAndOneTaggedLinePerInterval) {
    std::ostringstream out;
    loadgen::hdr_log_writer log(out, 1700000000.25, "test");
    histogram h;
    h.record(1'500'000);
    log.write_interval(h, 0, 1, "corrected");
    log.write_interval(h, 1, 0.5, "");
    std::istringstream in(out.str());
    std::string line;
    std::vector<std::string> lines;
    while (std::getline(in, line)) lines.push_back(line);
    ASSERT_EQ(lines.size(), 6u);
    EXPECT_EQ(lines[0], "#[test]");
    EXPECT_EQ(lines[1], "#[Histogram log format version 1.3]");
    EXPECT_EQ(lines[2].rfind("#[StartTime: 1700000000.250 (seconds since epoch), ", 0), 0u);
    EXPECT_EQ(lines[3],
              "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"");
    EXPECT_EQ(lines[4].rfind("Tag=corrected,0.000,1.000,1.500,HISTF", 0), 0u);
    EXPECT_EQ(lines[5].rfind("1.000,0.500,1.500,HISTF", 0), 0u);
    auto decoded = loadgen_test::decode_histf(lines[5].substr(lines[5].find("HISTF")));
    EXPECT_EQ(decoded.total(), 1);
}

}  // namespace
