// histogram/record and histogram/merge: what the load generator pays to keep latencies
// (loadgen/histogram.hpp, HdrHistogram's layout at 3 significant digits).
//
//   histogram/record  one iteration records one latency; items_per_second counts values.
//                     The values cycle through 4096 latencies spread log-uniformly from
//                     10 us to 50 ms, so that successive records hit different counters.
//   histogram/merge   one iteration merges one thread's histogram (a million such
//                     latencies) into the total, as the load generator does at the end of
//                     a run for every thread, and every second for the time series.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "bench/sample_text.hpp"
#include "loadgen/histogram.hpp"

namespace rot13::bench {
namespace {

std::vector<std::int64_t> sample_latencies(std::size_t count) {
    const double low = std::log(10e3);   // 10 us in ns
    const double high = std::log(50e6);  // 50 ms in ns
    sample_random random;
    std::vector<std::int64_t> values;
    values.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        double fraction = random.next() / 4294967296.0;
        values.push_back(static_cast<std::int64_t>(std::exp(low + fraction * (high - low))));
    }
    return values;
}

void histogram_record(benchmark::State& state) {
    const std::vector<std::int64_t> values = sample_latencies(4096);
    loadgen::histogram latencies;
    std::size_t next = 0;
    for (auto _ : state) {
        latencies.record(values[next]);
        next = (next + 1) & 4095;
    }
    benchmark::DoNotOptimize(latencies.count());
    state.SetItemsProcessed(state.iterations());
}

void histogram_merge(benchmark::State& state) {
    loadgen::histogram one_thread;
    for (std::int64_t value : sample_latencies(1'000'000)) one_thread.record(value);
    loadgen::histogram total;
    for (auto _ : state) {
        total.merge(one_thread);
        benchmark::ClobberMemory();
    }
    benchmark::DoNotOptimize(total.count());
    state.SetItemsProcessed(state.iterations());
}

BENCHMARK(histogram_record)->Name("histogram/record");
BENCHMARK(histogram_merge)->Name("histogram/merge")->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace rot13::bench
