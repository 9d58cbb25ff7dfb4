#include "bench/rot13_kernels.hpp"

#include <vector>

#include "common/rot13.hpp"

namespace rot13::bench {

// Branch-free: fold case with | 0x20, then one unsigned range test tells letters from the
// rest and a second one tells a-m from n-z. Every byte goes through the same instructions,
// so the compiler can do sixteen (or thirty-two) at once.
void rot13_autovec(std::span<const char> in, char* out) noexcept {
    const auto* src = reinterpret_cast<const unsigned char*>(in.data());
    auto* dst = reinterpret_cast<unsigned char*>(out);
    for (std::size_t i = 0; i < in.size(); ++i) {
        unsigned char c = src[i];
        unsigned char offset = static_cast<unsigned char>((c | 0x20) - 'a');  // 0..25 for letters
        unsigned char shift = offset < 13 ? 13 : static_cast<unsigned char>(-13);
        dst[i] = static_cast<unsigned char>(c + (offset < 26 ? shift : 0));
    }
}

std::span<const kernel> all_kernels() noexcept {
    static const std::vector<kernel> kernels = [] {
        std::vector<kernel> list = {
            {"table", &rot13_copy},
            {"branchy", &rot13_branchy},
            {"autovec", &rot13_autovec},
        };
        for (const kernel& k : simd_kernels()) list.push_back(k);
        return list;
    }();
    return kernels;
}

}  // namespace rot13::bench
