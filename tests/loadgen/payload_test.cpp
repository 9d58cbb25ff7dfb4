// The payload tape and the expected replies, checked against a model of the server's
// line handling (the same rules as consume_input in servers/select.cpp).
#include "loadgen/payload.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "common/protocol.hpp"
#include "common/rot13.hpp"

namespace {

// What a conforming server sends back for `input`, byte for byte.
std::string server_model(const std::string& input) {
    std::string out, line;
    for (char c : input) {
        if (c == '\n') {
            out += line + '\n';
            line.clear();
            continue;
        }
        line += rot13::rot13_char(c);
        if (line.size() == rot13::max_line) {
            out += line + '\n';
            line.clear();
        }
    }
    return out;
}

TEST(Payload, LinesNeverContainANewlineAndEndWithOne) {
    loadgen::payload p(300, 42);
    for (std::size_t k = 0; k < p.lines(); ++k) {
        const char* l = p.line(k);
        ASSERT_EQ(std::memchr(l, '\n', 300), nullptr);
        ASSERT_EQ(l[300], '\n');
    }
}

TEST(Payload, HoldsLettersAndOtherBytes) {
    loadgen::payload p(1000, 1);
    int letters = 0, others = 0, high = 0;
    for (std::size_t i = 0; i < 1000; ++i) {
        auto c = static_cast<unsigned char>(p.line(0)[i]);
        if (rot13::rot13_byte(c) != c)
            ++letters;
        else
            ++others;
        if (c >= 0x80) ++high;
    }
    EXPECT_GT(letters, 500);
    EXPECT_GT(others, 200);
    EXPECT_GT(high, 20);
}

TEST(Payload, IsReproducibleFromTheSeed) {
    loadgen::payload a(64, 7), b(64, 7), c(64, 8);
    ASSERT_EQ(a.lines(), b.lines());
    EXPECT_EQ(std::string(a.line(0), a.lines() * a.line_stride()),
              std::string(b.line(0), b.lines() * b.line_stride()));
    EXPECT_NE(std::string(a.line(0), 64), std::string(c.line(0), 64));
}

TEST(Payload, ReplySizeFollowsTheProtocol) {
    EXPECT_EQ(loadgen::reply_size(0), 1u);
    EXPECT_EQ(loadgen::reply_size(16), 17u);
    EXPECT_EQ(loadgen::reply_size(16383), 16384u);
    EXPECT_EQ(loadgen::reply_size(16384), 16386u);  // the piece, then an empty reply
    EXPECT_EQ(loadgen::reply_size(16385), 16387u);
    EXPECT_EQ(loadgen::reply_size(32768), 32771u);
}

class PayloadReplies : public ::testing::TestWithParam<std::size_t> {};

TEST_P(PayloadReplies, MatchWhatAConformingServerSends) {
    loadgen::payload p(GetParam(), 3);
    std::size_t n = std::min<std::size_t>(p.lines(), 8);
    std::string sent(p.line(0), n * p.line_stride());
    std::string expected(p.reply(0), n * p.reply_stride());
    EXPECT_EQ(server_model(sent), expected);
}

INSTANTIATE_TEST_SUITE_P(Sizes, PayloadReplies,
                         ::testing::Values(0, 1, 16, 1000, 16383, 16384, 16385, 32768, 40000));

}  // namespace
