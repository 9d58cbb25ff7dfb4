// The book's ROT13 loop. bench/CMakeLists.txt compiles this file with vectorisation off:
// the benchmark is meant to show what branching on every byte costs, and GCC at -O3 would
// otherwise if-convert and vectorise this loop (which is itself worth knowing; see
// docs/micro-benchmarks.md).
#include "bench/rot13_kernels.hpp"

namespace rot13::bench {
namespace {

// As the chapter writes it: no isalpha(), because the locale would change which bytes
// count as letters. Bytes >= 0x80 are negative chars here and fall through unchanged.
char book_rot13_char(char c) {
    if ((c >= 'a' && c <= 'm') || (c >= 'A' && c <= 'M'))
        return static_cast<char>(c + 13);
    else if ((c >= 'n' && c <= 'z') || (c >= 'N' && c <= 'Z'))
        return static_cast<char>(c - 13);
    else
        return c;
}

}  // namespace

void rot13_branchy(std::span<const char> in, char* out) noexcept {
    for (std::size_t i = 0; i < in.size(); ++i) out[i] = book_rot13_char(in[i]);
}

}  // namespace rot13::bench
