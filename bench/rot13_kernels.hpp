// ROT13 kernels for the micro-benchmarks (rot13/<kernel>/bytes:<B>) and their unit test
// (tests/unit/rot13_kernels_test.cpp). Every kernel has the signature of rot13::rot13_copy
// and must produce exactly what it produces, for every byte value.
//
//   branchy  the book's rot13_char(), two range tests and three branches per byte, compiled
//            with vectorisation switched off (bench/CMakeLists.txt) so that it stays the
//            scalar, branching loop the book shows. GCC 12 at -O3 would otherwise turn it
//            into vector code (see docs/micro-benchmarks.md).
//   table    common/rot13.cpp: one load from a 256-entry table per byte. The servers use it.
//   autovec  branch-free arithmetic on each byte, written so that the compiler vectorises
//            the loop by itself (checked with -fopt-info-vec; it needs no intrinsics, so it
//            works on every architecture).
//   sse2     SSE2 intrinsics, 16 bytes per step, and the table for the last < 16 bytes.
//            x86-64 only: bench/CMakeLists.txt builds it only there.
#pragma once

#include <span>
#include <string_view>

namespace rot13::bench {

using kernel_fn = void (*)(std::span<const char> in, char* out) noexcept;

struct kernel {
    std::string_view name;
    kernel_fn transform;
};

void rot13_branchy(std::span<const char> in, char* out) noexcept;
void rot13_autovec(std::span<const char> in, char* out) noexcept;

// Every kernel built on this platform, the reference (table) first.
std::span<const kernel> all_kernels() noexcept;

// The kernels that need a particular instruction set: {sse2} on x86-64, empty elsewhere.
// Defined in rot13_kernel_sse2.cpp or rot13_kernel_no_simd.cpp, whichever CMake builds.
std::span<const kernel> simd_kernels() noexcept;

}  // namespace rot13::bench
