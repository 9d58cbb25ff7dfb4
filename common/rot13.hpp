// The ROT13 transform over bytes. Only ASCII letters change; every other byte value,
// including NUL, '\r' and bytes >= 0x80, passes through. It deliberately does not use
// isalpha(): the locale would change which bytes count as letters (the book's remark).
#pragma once

#include <cstddef>
#include <span>

namespace rot13 {

constexpr unsigned char rot13_byte(unsigned char c) noexcept {
    if ((c >= 'a' && c <= 'm') || (c >= 'A' && c <= 'M')) return static_cast<unsigned char>(c + 13);
    if ((c >= 'n' && c <= 'z') || (c >= 'N' && c <= 'Z')) return static_cast<unsigned char>(c - 13);
    return c;
}

constexpr char rot13_char(char c) noexcept {
    return static_cast<char>(rot13_byte(static_cast<unsigned char>(c)));
}

// Transforms bytes in place, through a 256-entry table.
void rot13_inplace(std::span<char> bytes) noexcept;

// Writes rot13(in) to out, which must hold in.size() bytes. in and out may be the same.
void rot13_copy(std::span<const char> in, char* out) noexcept;

}  // namespace rot13
