// Every ROT13 kernel of the micro-benchmarks (bench/rot13_kernels.hpp) must agree with the
// table the servers use (common/rot13.cpp), for every byte value, at every length and
// offset the vector kernels treat differently (whole 16-byte blocks, the scalar tail).
// Each test checks all kernels; a failure names the kernel.
#include "bench/rot13_kernels.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

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

std::vector<char> through_table(std::span<const char> in) {
    std::vector<char> out(in.size());
    rot13::rot13_copy(in, out.data());
    return out;
}

TEST(every_kernel, is_listed_with_the_table_first) {
    std::vector<std::string> names;
    for (const kernel& k : all_kernels()) names.emplace_back(k.name);
    ASSERT_GE(names.size(), 3u);
    EXPECT_EQ(names[0], "table");
    EXPECT_EQ(names[1], "branchy");
    EXPECT_EQ(names[2], "autovec");
}

TEST(every_kernel, matches_the_table_for_every_byte_value) {
    const std::vector<char> in = every_byte();
    const std::vector<char> expected = through_table(in);
    for (const kernel& k : all_kernels()) {
        SCOPED_TRACE("kernel " + std::string(k.name));
        std::vector<char> out(in.size());
        k.transform(in, out.data());
        for (int i = 0; i < 256; ++i)
            EXPECT_EQ(static_cast<unsigned char>(out[i]), static_cast<unsigned char>(expected[i]))
                << "byte 0x" << std::hex << i;
    }
}

TEST(every_kernel, changes_only_ascii_letters) {
    const std::vector<char> in = every_byte();
    for (const kernel& k : all_kernels()) {
        SCOPED_TRACE("kernel " + std::string(k.name));
        std::vector<char> out(in.size());
        k.transform(in, out.data());
        for (int i = 0; i < 256; ++i) {
            bool letter = (i >= 'a' && i <= 'z') || (i >= 'A' && i <= 'Z');
            EXPECT_EQ(out[i] != in[i], letter) << "byte 0x" << std::hex << i;
        }
    }
}

// Lengths 0..63 from 16 different start offsets cover empty input, inputs shorter than
// one vector, whole vectors and every tail length, aligned or not.
TEST(every_kernel, matches_the_table_for_every_length_and_alignment) {
    std::vector<char> all = every_byte();
    all.insert(all.end(), all.begin(), all.end());
    for (const kernel& k : all_kernels()) {
        SCOPED_TRACE("kernel " + std::string(k.name));
        for (std::size_t offset = 0; offset < 16; ++offset) {
            for (std::size_t length = 0; length < 64; ++length) {
                std::span<const char> in(all.data() + offset * 7, length);
                std::vector<char> out(length);
                k.transform(in, out.data());
                EXPECT_EQ(out, through_table(in)) << "offset " << offset << ", length " << length;
            }
        }
    }
}

TEST(every_kernel, writes_nothing_past_the_end) {
    const std::string in(37, 'a');
    for (const kernel& k : all_kernels()) {
        SCOPED_TRACE("kernel " + std::string(k.name));
        std::string out(48, '#');
        k.transform(in, out.data());
        EXPECT_EQ(out, std::string(37, 'n') + std::string(11, '#'));
    }
}

TEST(every_kernel, works_in_place) {
    for (const kernel& k : all_kernels()) {
        SCOPED_TRACE("kernel " + std::string(k.name));
        std::vector<char> bytes = every_byte();
        const std::vector<char> expected = through_table(bytes);
        k.transform(bytes, bytes.data());
        EXPECT_EQ(bytes, expected);
    }
}

}  // namespace
