// The SSE2 kernel: sixteen bytes per step with the instructions every x86-64 CPU has.
// bench/CMakeLists.txt builds this file only on x86-64 (rot13_kernel_no_simd.cpp elsewhere).
#include <emmintrin.h>

#include "bench/rot13_kernels.hpp"
#include "common/rot13.hpp"

namespace rot13::bench {
namespace {

// SSE2 compares bytes as signed numbers only. That suits us: after folding the case with
// | 0x20, every letter lies in 'a'..'z' (0x61..0x7a), and bytes >= 0x80 are negative, so
// "greater than 'a' - 1 and less than 'z' + 1" picks exactly the letters.
void rot13_sse2(std::span<const char> in, char* out) noexcept {
    const __m128i case_bit = _mm_set1_epi8(0x20);
    const __m128i before_a = _mm_set1_epi8('a' - 1);
    const __m128i after_z = _mm_set1_epi8('z' + 1);
    const __m128i after_m = _mm_set1_epi8('m' + 1);
    const __m128i plus_13 = _mm_set1_epi8(13);
    const __m128i minus_13 = _mm_set1_epi8(-13);

    std::size_t i = 0;
    for (; i + 16 <= in.size(); i += 16) {
        __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in.data() + i));
        __m128i lower = _mm_or_si128(bytes, case_bit);
        __m128i is_letter = _mm_and_si128(_mm_cmpgt_epi8(lower, before_a), _mm_cmplt_epi8(lower, after_z));
        __m128i first_half = _mm_cmplt_epi8(lower, after_m);
        // +13 for a-m, -13 for n-z: select between them with the mask (SSE2 has no blend).
        __m128i shift =
            _mm_or_si128(_mm_and_si128(first_half, plus_13), _mm_andnot_si128(first_half, minus_13));
        __m128i result = _mm_add_epi8(bytes, _mm_and_si128(is_letter, shift));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), result);
    }
    // The last 0..15 bytes: the table, as the servers do it.
    rot13_copy(in.subspan(i), out + i);
}

constexpr kernel sse2_kernels[] = {{"sse2", &rot13_sse2}};

}  // namespace

std::span<const kernel> simd_kernels() noexcept {
    return sse2_kernels;
}

}  // namespace rot13::bench
