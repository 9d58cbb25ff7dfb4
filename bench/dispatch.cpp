#include "bench/dispatch.hpp"

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/socket_pairs.hpp"

namespace rot13::bench {
namespace {

// N: from a handful of fds to ten thousand; 500 pairs is the most select() can take (fds
// up to about 1003 < FD_SETSIZE), 1000 the first step past it. A: one event per dispatch,
// and a hundred at once.
constexpr int fd_counts[] = {10, 100, 500, 1000, 10000};
constexpr int active_counts[] = {1, 100};

// A dispatcher that keeps reporting nothing when bytes are waiting is broken; give up
// after this many empty dispatches in one iteration rather than spin for ever.
constexpr int max_empty_dispatches = 1000;

// Makes the pairs and a first dispatcher, or marks the benchmark skipped and says why.
bool prepare(benchmark::State& state, const dispatcher_factory& make, std::optional<socket_pairs>& pairs,
             std::unique_ptr<dispatcher>& first) {
    const int n = static_cast<int>(state.range(0));
    if (auto problem = fd_budget_problem(n)) {
        state.SkipWithError(problem->c_str());
        return false;
    }
    try {
        pairs.emplace(n);
        first = make(pairs->readers());
        return true;
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
        return false;
    }
}

// One iteration of dispatch/...: a byte into each active pair, then dispatch until all
// of them have been read. Returns what went wrong, if anything.
std::optional<std::string> write_and_dispatch(const socket_pairs& pairs, const std::vector<int>& active,
                                              dispatcher& mechanism, std::int64_t& dispatches) {
    const char byte = 'x';
    for (int i : active)
        if (::write(pairs.writer(i), &byte, 1) != 1)
            return std::string("write() to an active pair failed: ") + std::strerror(errno);
    const int expected = static_cast<int>(active.size());
    int handled = 0;
    int empty = 0;
    while (handled < expected) {
        int events = mechanism.dispatch();
        ++dispatches;
        if (events < 0) return std::string("dispatch failed: ") + std::strerror(-events);
        if (events == 0 && ++empty == max_empty_dispatches)
            return "the mechanism reports nothing although bytes are waiting";
        handled += events;
    }
    if (handled != expected) return "the mechanism reported more events than bytes were written";
    return std::nullopt;
}

void run_dispatch(benchmark::State& state, const dispatcher_factory& make) {
    std::optional<socket_pairs> pairs;
    std::unique_ptr<dispatcher> mechanism;
    if (!prepare(state, make, pairs, mechanism)) return;

    const std::vector<int> active = active_pairs(pairs->size(), static_cast<int>(state.range(1)));
    std::int64_t dispatches = 0;
    for (auto _ : state) {
        if (auto problem = write_and_dispatch(*pairs, active, *mechanism, dispatches)) {
            state.SkipWithError(problem->c_str());
            break;  // SkipWithError does not end the loop by itself
        }
    }
    if (state.error_occurred()) return;
    state.SetItemsProcessed(state.iterations() * state.range(1));
    state.counters["dispatches_per_iter"] =
        benchmark::Counter(static_cast<double>(dispatches), benchmark::Counter::kAvgIterations);
}

// Setting up a few fds takes about as long as pausing and resuming the timer (~0.3 us),
// so small N are set up many times per iteration: about 1000 registrations per timed
// stretch, at most 100 mechanisms alive at once.
int setups_per_iteration(int n) {
    return std::clamp(1000 / n, 1, 100);
}

void run_setup(benchmark::State& state, const dispatcher_factory& make) {
    std::optional<socket_pairs> pairs;
    std::unique_ptr<dispatcher> first;
    if (!prepare(state, make, pairs, first)) return;
    first.reset();

    const int batch = setups_per_iteration(pairs->size());
    std::vector<std::unique_ptr<dispatcher>> mechanisms;
    mechanisms.reserve(batch);
    for (auto _ : state) {
        try {
            for (int i = 0; i < batch; ++i) {
                mechanisms.push_back(make(pairs->readers()));
                if (mechanisms.back()->dispatch() != 0) {
                    state.SkipWithError("the empty dispatch after registering reported events");
                    break;
                }
            }
        } catch (const std::exception& e) {
            state.SkipWithError(e.what());
        }
        if (state.error_occurred()) break;
        state.PauseTiming();
        mechanisms.clear();
        state.ResumeTiming();
    }
    if (state.error_occurred()) return;
    state.SetItemsProcessed(state.iterations() * batch * state.range(0));
    state.counters["setups_per_iter"] = batch;
}

}  // namespace

void register_dispatch_backend(const std::string& name, dispatcher_factory make) {
    auto* dispatch = benchmark::RegisterBenchmark(
        ("dispatch/" + name).c_str(), [make](benchmark::State& state) { run_dispatch(state, make); });
    dispatch->ArgNames({"fds", "active"});
    for (int n : fd_counts)
        for (int a : active_counts)
            if (a <= n) dispatch->Args({n, a});

    auto* setup = benchmark::RegisterBenchmark(("setup/" + name).c_str(),
                                               [make](benchmark::State& state) { run_setup(state, make); });
    setup->ArgName("fds")->Unit(benchmark::kMicrosecond);
    for (int n : fd_counts) setup->Arg(n);
}

}  // namespace rot13::bench
