#include "rot13.hpp"

#include <array>

namespace rot13 {
namespace {

constexpr std::array<unsigned char, 256> make_table() {
    std::array<unsigned char, 256> table{};
    for (int i = 0; i < 256; ++i) table[i] = rot13_byte(static_cast<unsigned char>(i));
    return table;
}

constexpr std::array<unsigned char, 256> table = make_table();

}  // namespace

void rot13_copy(std::span<const char> in, char* out) noexcept {
    for (std::size_t i = 0; i < in.size(); ++i)
        out[i] = static_cast<char>(table[static_cast<unsigned char>(in[i])]);
}

void rot13_inplace(std::span<char> bytes) noexcept { rot13_copy(bytes, bytes.data()); }

}  // namespace rot13
