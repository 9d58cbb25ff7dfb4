// Built instead of rot13_kernel_sse2.cpp where SSE2 does not exist: no extra kernels.
#include "bench/rot13_kernels.hpp"

namespace rot13::bench {

std::span<const kernel> simd_kernels() noexcept {
    return {};
}

}  // namespace rot13::bench
