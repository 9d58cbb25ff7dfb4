// libFuzzer target: `rot13-load merge`, which reads results files written on other
// machines (docs/multi-host.md). The input is one flags byte (bit 0: --force) and then the
// files, separated by NUL bytes (which JSON text cannot contain). Each file goes through
// what rot13-load merge does with it: nlohmann::json::parse, merge_results, the merged
// object's text (results_text) and the one-line description. A file that is not JSON, or
// not a results object, may only end in an exception (rot13-load prints it and exits 1);
// ASan and UBSan reports, crashes, hangs and running out of memory are findings, and so is
// a merged object that cannot itself be merged.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "loadgen/results.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    loadgen::merge_options options;
    options.force = (data[0] & 1) != 0;
    std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    std::vector<nlohmann::json> runs;
    while (runs.size() < 4) {
        std::size_t end = rest.find('\0');
        try {
            runs.push_back(nlohmann::json::parse(rest.substr(0, end)));
        } catch (const nlohmann::json::exception&) {
            return 0;  // rot13-load: "FILE: [json.exception.parse_error...]", exit 1
        }
        options.names.push_back("input" + std::to_string(runs.size()) + ".json");
        if (end == std::string_view::npos) break;
        rest.remove_prefix(end + 1);
    }
    std::string text;
    try {
        nlohmann::json merged = loadgen::merge_results(runs, options);
        text = loadgen::results_text(merged);
        (void)loadgen::describe_merge(merged);
    } catch (const std::exception&) {
        return 0;  // rot13-load: "rot13-load: error: ...", exit 1
    }
    // What merge writes is a results object again: merging it (with other merges, say the
    // generators of two sites) must work.
    try {
        nlohmann::json again = loadgen::merge_results({nlohmann::json::parse(text)});
        (void)loadgen::results_text(again);
        (void)loadgen::describe_merge(again);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "merge_fuzz: the merged object cannot be merged again: %s\n", e.what());
        std::abort();
    }
    return 0;
}
