// Every ROT13 kernel of the micro-benchmarks (bench/rot13_kernels.hpp) must agree with the
// table the servers use (common/rot13.cpp), for every byte value, at every offset the
// vector kernels treat differently (whole 16-byte blocks, the scalar tail).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bench/rot13_kernels.hpp"
#include "common/rot13.hpp"

namespace {

using rot13::bench::all_kernels;
using rot13::bench::kernel;

// All 256 byte values, in order: 0x00, 0x01, ..., 0xff.
std::vector<char> every_byte() {
    std::vector<char> bytes(256);
    for (int i = 0; i < 256; ++i) bytes[i] = static_cast<char>(i);
    return bytes;
}

std::vector<char> through_table(const std::vector<char>& in) {
    std::vector<char> out(in.size());
    rot13::rot13_copy(in, out.data());
    return out;
}

class rot13_kernel : public testing::TestWithParam<kernel> {};

TEST_P(rot13_kernel, matches_the_table_for_every_byte_value) {
    const std::vector<char> in = every_byte();
    const std::vector<char> expected = through_table(in);
    std::vector<char> out(in.size());
    GetParam().transform(in, out.data());
    for (int i = 0; i < 256; ++i)
        EXPECT_EQ(static_cast<unsigned char>(out[i]), static_cast<unsigned char>(expected[i]))
            << "byte 0x" << std::hex << i;
}

TEST_P(rot13_kernel, changes_only_ascii_letters) {
    const std::vector<char> in = every_byte();
    std::vector<char> out(in.size());
    GetParam().transform(in, out.data());
    for (int i = 0; i < 256; ++i) {
        bool letter = (i >= 'a' && i <= 'z') || (i >= 'A' && i <= 'Z');
        EXPECT_EQ(out[i] != in[i], letter) << "byte 0x" << std::hex << i;
    }
}

// Lengths 0..63 from every start offset 0..15 cover empty input, inputs shorter than one
// vector, whole vectors, and every tail length, aligned or not.
TEST_P(rot13_kernel, matches_the_table_for_every_length_and_alignment) {
    std::vector<char> all = every_byte();
    all.insert(all.end(), all.begin(), all.end());
    for (std::size_t offset = 0; offset < 16; ++offset) {
        for (std::size_t length = 0; length < 64; ++length) {
            std::vector<char> in(all.begin() + offset * 7, all.begin() + offset * 7 + length);
            std::vector<char> out(length + 1, '#');
            GetParam().transform(std::span<const char>(all.data() + offset * 7, length), out.data());
            out.pop_back();
            EXPECT_EQ(out, through_table(in)) << "offset " << offset << ", length " << length;
        }
    }
}

TEST_P(rot13_kernel, writes_nothing_past_the_end) {
    const std::string in(37, 'a');
    std::string out(48, '#');
    GetParam().transform(in, out.data());
    EXPECT_EQ(out, std::string(37, 'n') + std::string(11, '#'));
}

TEST_P(rot13_kernel, works_in_place) {
    std::vector<char> bytes = every_byte();
    const std::vector<char> expected = through_table(bytes);
    GetParam().transform(bytes, bytes.data());
    EXPECT_EQ(bytes, expected);
}

TEST(rot13_kernels, include_the_table_branchy_and_autovec_kernels) {
    std::vector<std::string> names;
    for (const kernel& k : all_kernels()) names.emplace_back(k.name);
    ASSERT_GE(names.size(), 3u);
    EXPECT_EQ(names[0], "table");
    EXPECT_EQ(names[1], "branchy");
    EXPECT_EQ(names[2], "autovec");
}

INSTANTIATE_TEST_SUITE_P(all, rot13_kernel, testing::ValuesIn(all_kernels().begin(), all_kernels().end()),
                         [](const testing::TestParamInfo<kernel>& info) { return std::string(info.param.name); });

}  // namespace
