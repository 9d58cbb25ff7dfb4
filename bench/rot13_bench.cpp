// rot13/<kernel>/bytes:<B>: one iteration transforms B bytes of sample text with one of
// the kernels of rot13_kernels.hpp; bytes_per_second is the kernel's throughput. B runs
// from a short line to the protocol's max_line (16384, what a server transforms at most
// in one go) and on to 1 MiB, which no longer fits in the L2 cache of most CPUs.
//
// Each iteration takes the next B bytes of a 256 KiB pool of text rather than the same B
// bytes again: a branch predictor learns the branches of a short input that repeats, and
// the branchy kernel would look several times faster on 16 bytes than it is on real text.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <string>
#include <vector>

#include "bench/rot13_kernels.hpp"
#include "bench/sample_text.hpp"

namespace rot13::bench {
namespace {

constexpr int sizes[] = {16, 256, 4096, 16384, 1 << 20};
constexpr std::size_t pool_size = 256 * 1024;

void run_kernel(benchmark::State& state, kernel_fn transform) {
    const auto size = static_cast<std::size_t>(state.range(0));
    const std::size_t slots = std::max<std::size_t>(pool_size / size, 1);
    sample_random random;
    const std::string pool = sample_text(slots * size, random);
    std::vector<char> out(size);
    std::size_t slot = 0;
    for (auto _ : state) {
        transform({pool.data() + slot * size, size}, out.data());
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
        if (++slot == slots) slot = 0;
    }
    state.SetBytesProcessed(state.iterations() * state.range(0));
}

[[maybe_unused]] const bool registered = [] {
    for (const kernel& k : all_kernels()) {
        auto* b = benchmark::RegisterBenchmark(
            ("rot13/" + std::string(k.name)).c_str(),
            [fn = k.transform](benchmark::State& state) { run_kernel(state, fn); });
        b->ArgName("bytes");
        for (int size : sizes) b->Arg(size);
    }
    return true;
}();

}  // namespace
}  // namespace rot13::bench
