// libFuzzer target: rot13-load's reading of `chronyc -n tracking` (loadgen/context.cpp,
// clock_from_chronyc), another program's output that goes into every results file's
// context.clock. The input is one byte for the exit status (0, 1 or 127), then the text.
// Whatever chronyc prints, the clock object must be made and written by the results' writer
// (results_text) without an exception: one would lose the run's results. Nothing may crash.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "loadgen/results.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    static constexpr int statuses[] = {0, 1, 127};
    loadgen::command_output out;
    out.status = statuses[data[0] % 3];
    out.text.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
    nlohmann::json clock = loadgen::clock_from_chronyc(out);
    try {
        (void)loadgen::results_text(clock);
    } catch (const nlohmann::json::exception& e) {
        std::fprintf(stderr, "chronyc_fuzz: the clock object cannot be written: %s\n", e.what());
        std::abort();
    }
    return 0;
}
