// framing/<method>: finding the '\n' that ends each line in a receive buffer, the first
// thing a server does with every read (consume_input in the servers). The buffer is what
// one recv() of 16 KiB returns under a pipelining client: lines of 8 to 120 bytes of
// sample text (64 on average), each ending in '\n'. One iteration finds every line end in
// one 16 KiB buffer; successive iterations take successive buffers of a 256 KiB pool, so
// that the branch predictor cannot learn where the newlines are.
//
//   byte_loop  compares byte after byte, as the book's servers do.
//   memchr     the C library's memchr(), which looks at 16 or 32 bytes per instruction.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>

#include "bench/sample_text.hpp"

namespace rot13::bench {
namespace {

constexpr std::size_t buffer_size = 16384;
constexpr std::size_t buffers = 16;

std::string sample_lines() {
    sample_random random;
    std::string pool;
    while (pool.size() < buffers * buffer_size) {
        pool += sample_text(random.between(8, 120), random);
        pool += '\n';
    }
    pool.resize(buffers * buffer_size);
    return pool;
}

const char* find_newline_bytewise(const char* p, const char* end) noexcept {
    while (p != end && *p != '\n') ++p;
    return p;
}

const char* find_newline_memchr(const char* p, const char* end) noexcept {
    auto* found = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    return found ? found : end;
}

// Walks the buffer line by line, as consume_input does, and returns the number of lines.
template <const char* (*find_newline)(const char*, const char*) noexcept>
void run_framing(benchmark::State& state) {
    const std::string pool = sample_lines();
    std::size_t buffer = 0;
    for (auto _ : state) {
        const char* p = pool.data() + buffer * buffer_size;
        const char* end = p + buffer_size;
        if (++buffer == buffers) buffer = 0;
        std::size_t lines = 0;
        while ((p = find_newline(p, end)) != end) {
            ++lines;
            ++p;
        }
        benchmark::DoNotOptimize(lines);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * buffer_size));
}

BENCHMARK(run_framing<find_newline_bytewise>)->Name("framing/byte_loop");
BENCHMARK(run_framing<find_newline_memchr>)->Name("framing/memchr");

}  // namespace
}  // namespace rot13::bench
