// rot13-micro: the micro-benchmarks of rot13bench (docs/micro-benchmarks.md).
//
//   dispatch/<backend>/fds:<N>/active:<A>   cost of one event, per event mechanism
//   setup/<backend>/fds:<N>                 cost of registering N fds
//   rot13/<kernel>/bytes:<B>                ROT13 kernels, bytes per second
//   framing/<method>                        finding line ends in a receive buffer
//   histogram/record, histogram/merge       the load generator's latency histogram
//
// Run: build/bin/rot13-micro --benchmark_filter='dispatch/epoll' --benchmark_repetitions=5
// Everything, with the chart: scripts/micro.sh
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <sys/select.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

// 10,000 socket pairs are 20,000 descriptors; the soft limit is often 1024. An ordinary
// process may raise its soft limit up to the hard limit, so do that; what still does not
// fit is skipped by the benchmarks that need it, each saying how many fds it needed.
rlimit raise_fd_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) < 0) return limit;
    if (limit.rlim_cur != limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = raised.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0)
            limit = raised;
        else
            std::fprintf(stderr, "rot13-micro: cannot raise RLIMIT_NOFILE from %llu to %llu: %s\n",
                         static_cast<unsigned long long>(limit.rlim_cur),
                         static_cast<unsigned long long>(limit.rlim_max), std::strerror(errno));
    }
    return limit;
}

std::string limit_text(rlim_t value) {
    return value == RLIM_INFINITY ? "unlimited" : std::to_string(static_cast<unsigned long long>(value));
}

}  // namespace

int main(int argc, char** argv) {
    const rlimit limit = raise_fd_limit();
    // Recorded in the JSON "context", next to the CPU and the library's own fields.
    benchmark::AddCustomContext("nofile_soft_limit", limit_text(limit.rlim_cur));
    benchmark::AddCustomContext("nofile_hard_limit", limit_text(limit.rlim_max));
    benchmark::AddCustomContext("fd_setsize", std::to_string(FD_SETSIZE));

    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
