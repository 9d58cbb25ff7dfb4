// libFuzzer target: rot13-bench's suite reader (harness/suite.cpp), which reads the suites
// users write. The input is the suite file's text. It goes through what `rot13-bench run`
// does before it starts anything: load_suite (JSON syntax errors become FILE:LINE:COLUMN),
// expand, interleave, and the names and descriptions printed for every run. A bad suite
// may only end in suite_error (rot13-bench prints it and exits 2); ASan and UBSan reports,
// crashes, hangs and running out of memory are findings.
//
// Findings, fixed in harness/suite.cpp, with their inputs kept in corpus/suite/:
//   1. Nothing bounded the number of runs a suite expands into ("repetitions": 10000000, or
//      lists in several load fields, whose product is taken): rot13-bench ran out of memory
//      before it said anything. Now a suite_error past 100,000 runs.
//   2. A number too large for a double (1e400) made nlohmann throw out_of_range, not
//      parse_error, and rot13-bench exited 1 with the bare library message. Now a
//      suite_error naming the file (regression-number-overflow.json).
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "harness/suite.hpp"

namespace {

// The variants of a build: built ones with and without --backend, one with a note, one not built.
harness::variant_table make_variants() {
    harness::variant_table t;
    t.bin_dir = "/nonexistent/bin";
    auto add = [&](std::string name, bool built, std::vector<std::string> backends, std::string note = "") {
        harness::variant_info v;
        v.name = name;
        v.built = built;
        v.backends = std::move(backends);
        v.note = std::move(note);
        if (!built) v.reason = "not built in this fuzzer";
        v.binary = t.bin_dir / ("rot13-" + name);
        t.variants.push_back(std::move(v));
    };
    add("select", true, {});
    add("epoll", true, {});
    add("libevent-event", true, {"epoll", "poll", "select"});
    add("kqueue", true, {}, "libkqueue on Linux");
    add("iocp", false, {});
    return t;
}

std::string suite_path() {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir && *dir ? dir : "/tmp") + "/rot13-suite-fuzz-" + std::to_string(::getpid()) +
           ".json";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const harness::variant_table variants = make_variants();
    static const std::string path = suite_path();
    const std::string text(reinterpret_cast<const char*>(data), size);
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    try {
        harness::suite s = harness::load_suite(path, variants);
        std::vector<harness::run_config> runs = harness::expand(s);
        std::vector<harness::run_config> order = harness::interleave(runs, s.seed.value_or(1));
        std::size_t total = 0;
        for (const auto& r : order)
            total +=
                r.id.size() + harness::shown_name(r.server).size() + harness::describe_load(r.load).size();
        if (order.size() != runs.size()) std::abort();
        (void)total;
    } catch (const harness::suite_error&) {
        // rot13-bench: "rot13-bench: error: FILE: ...", exit 2.
    }
    return 0;
}
