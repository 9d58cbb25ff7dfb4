// libFuzzer target: rot13-bench's suite reader (harness/suite.cpp), which reads the suites
// users write. The input is the suite file's text. It goes through what `rot13-bench run`
// does before it starts anything: load_suite (JSON syntax errors become FILE:LINE:COLUMN),
// expand, interleave, and the names and descriptions printed for every run. A bad suite
// may only end in suite_error (rot13-bench prints it and exits 2); ASan and UBSan reports,
// crashes, hangs and running out of memory are findings.
//
// Known findings, not fixed here (harness/ is another's), worked around until they are:
//   1. Nothing bounds the number of runs a suite expands into, so a short suite can ask
//      for millions ("repetitions": 10000000, or lists in several load fields, whose
//      product is taken) and rot13-bench runs out of memory before it says anything.
//      Suites over max_runs (counted below, before parsing) are not passed on.
//   2. A number too large for a double (1e400) makes nlohmann throw out_of_range, not
//      parse_error: load_suite lets it through, and rot13-bench exits 1 with the bare
//      library message instead of 2 with FILE:LINE:COLUMN. It is caught here.
//      (corpus/suite/regression-number-overflow.json)
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "harness/suite.hpp"

namespace {

using harness::json;

constexpr double max_runs = 100'000;

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

// An upper bound on the runs a suite asks for, from its JSON: servers (with their backends)
// x the product of every load's lists x repetitions. 0 when it is no suite at all.
double runs_asked_for(const json& j, const harness::variant_table& variants) {
    if (!j.is_object() || !j.contains("servers") || !j.contains("loads")) return 0;
    const json& servers = j["servers"];
    const json& loads = j["loads"];
    if (!servers.is_array() || !loads.is_array()) return 0;
    double server_count = 0;
    for (const json& s : servers) {
        double variants_of_entry = 1;
        if (s.is_object() && s.contains("variant") && s["variant"] == "all")
            variants_of_entry = static_cast<double>(variants.variants.size());
        double backends = 3;  // the most any variant here has
        if (s.is_object() && s.contains("backends") && s["backends"].is_array())
            backends = std::max<double>(1, static_cast<double>(s["backends"].size()));
        server_count += variants_of_entry * backends;
    }
    double points = 0;
    for (const json& l : loads) {
        double product = 1;
        if (l.is_object())
            for (const char* key : {"connections", "depth", "rate", "idle", "size"})
                if (l.contains(key) && l[key].is_array())
                    product *= std::max<double>(1, static_cast<double>(l[key].size()));
        points += product;
    }
    double repetitions = 1;
    if (j.contains("repetitions") && j["repetitions"].is_number())
        repetitions = std::max(1.0, j["repetitions"].get<double>());
    return std::max(points, server_count * points * repetitions);
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
    json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (runs_asked_for(parsed, variants) > max_runs) return 0;  // the known finding above

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
    } catch (const nlohmann::json::out_of_range&) {
        // Known finding 2 above.
    }
    return 0;
}
