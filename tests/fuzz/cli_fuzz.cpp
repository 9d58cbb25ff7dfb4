// libFuzzer target: the command lines of rot13-load (loadgen/options.cpp, with --source
// address ranges and --start-at), of every server (common/cli.cpp) and rot13-bench's CPU
// lists (--server-cpus, --load-cpus: harness/process.cpp), which scripts and users write.
// The input is one byte choosing the parser, then the arguments separated by NUL bytes.
// A bad command line may only end in the parser's own error (usage_error; for a CPU list
// std::invalid_argument), which the programs catch and print: anything else escapes
// their main() and ends in std::terminate, so it aborts here too.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/cli.hpp"
#include "common/errors.hpp"
#include "harness/process.hpp"
#include "loadgen/options.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const int parser = data[0] % 3;
    std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    std::vector<std::string_view> args;
    while (!rest.empty() && args.size() < 64) {
        std::size_t end = rest.find('\0');
        args.push_back(rest.substr(0, end));
        if (end == std::string_view::npos) break;
        rest.remove_prefix(end + 1);
    }
    static const rot13::server_spec spec{
        .program = "rot13-fuzz",
        .description = "fuzzed",
        .takes_backend = true,
        .backend_help = "b",
        .takes_threads = true,
        .threads_help = "t",
        .takes_edge = true,
    };
    if (parser == 0) {
        try {
            // A fixed "now", so that --start-at behaves the same on every run of an input.
            loadgen::options opts = loadgen::parse_options(args, 1.7e9);
            (void)opts.effective_depth();
            (void)opts.open_loop();
        } catch (const rot13::usage_error&) {
        }
    } else if (parser == 1) {
        try {
            (void)rot13::parse_server_options(args, spec);
        } catch (const rot13::usage_error&) {
        }
    } else {
        try {
            std::vector<int> cpus =
                harness::parse_cpu_list(std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
            (void)harness::format_cpu_list(cpus);
        } catch (const std::invalid_argument&) {
        }
    }
    return 0;
}
