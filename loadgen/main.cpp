// rot13-load: the load generator CLI. Runs one load test against a ROT13 line server and
// reports throughput, errors by class and the latency spectrum; or, as
// `rot13-load merge A.json B.json ...`, merges results of simultaneous runs exactly.
//
// Run:   build/bin/rot13-load --port 40713 --connections 100 --duration 10 --json out.json
// Smoke: build/bin/rot13-select --port 0 & build/bin/rot13-load --port PORT --duration 1
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/errors.hpp"
#include "loadgen/engine.hpp"
#include "loadgen/options.hpp"
#include "loadgen/platform.hpp"
#include "loadgen/results.hpp"

namespace {

constexpr const char* program = "rot13-load";

// Writes a results file so that a reader never sees half of it: into PATH.tmp, then renamed
// over PATH. A path that exists and is not a regular file (/dev/null, a FIFO, /dev/stdout)
// is written directly instead: renaming over it would replace the device or the pipe with a
// regular file (once, /dev/null itself).
void write_file_atomically(const std::string& path, const std::string& text) {
    std::error_code status_error;
    const auto status = std::filesystem::status(path, status_error);
    if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status)) {
        std::ofstream out(path, std::ios::binary);
        out << text;
        out.flush();
        if (!out) rot13::throw_errno("cannot write " + path);
        return;
    }
    std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << text;
        out.flush();
        if (!out) rot13::throw_errno("cannot write " + tmp);
    }
    // std::filesystem::rename replaces an existing file on Windows too; std::rename fails there.
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) throw std::system_error(ec, "cannot rename " + tmp + " to " + path);
}

void show_progress(const loadgen::progress_sample& s) {
    if (s.elapsed_s < 0) {
        std::fprintf(stderr, "\rconnected; traffic starts in %.0f s (--start-at)   ", -s.elapsed_s);
        std::fflush(stderr);
        return;
    }
    // The p99 is that of the last complete second of the window: "-" until there is one.
    char p99[32] = "        -";
    if (s.p99_ns > 0) std::snprintf(p99, sizeof(p99), "%9.1f", static_cast<double>(s.p99_ns) / 1e3);
    std::fprintf(stderr, "\r%7.1f s %s %10.0f lines/s  p99 %s us  errors %llu   ", s.elapsed_s,
                 s.measuring ? "     " : "(warm)", s.lines_per_s, p99, static_cast<unsigned long long>(s.errors));
    std::fflush(stderr);
}

// --stop-on-stdin-close. ssh does not signal the remote command when its connection ends:
// it closes the command's stdin. So a generator started over ssh watches its stdin and, at
// its end, stops as SIGTERM would (the run ends early and its results are written); if it
// has not exited 5 s later, it exits anyway, so that nothing is left running on that host.
void stop_when_stdin_closes() {
    std::thread([] {
        loadgen::wait_for_stdin_to_close();
        std::raise(SIGTERM);
        std::this_thread::sleep_for(std::chrono::seconds(5));
        std::fprintf(stderr, "%s: stdin closed 5 s ago and the run has not ended: exiting\n", program);
        std::_Exit(1);
    }).detach();
}

int run(const loadgen::options& opts) {
    if (opts.stop_on_stdin_close) stop_when_stdin_closes();
    bool live = !opts.quiet && loadgen::stderr_is_terminal();
    loadgen::run_result result;
    try {
        result = loadgen::run_load(opts, live ? loadgen::progress_fn(show_progress) : loadgen::progress_fn());
    } catch (const std::exception& e) {
        result.fatal = e.what();  // still a result: the JSON says why the run failed
    }
    if (live) std::fputs("\r\033[K", stderr);

    loadgen::verdict v = loadgen::judge(result, opts);
    if (!opts.json_path.empty()) {
        std::string text = loadgen::results_text(loadgen::to_json(result, opts, v, loadgen::collect_context()));
        if (opts.json_path == "-")
            std::fputs(text.c_str(), stdout);
        else
            write_file_atomically(opts.json_path, text);
    }
    if (!opts.quiet)
        loadgen::print_summary(opts.json_path == "-" ? stderr : stdout, result, opts, v);
    else if (!v.ok)
        std::fprintf(stderr, "%s: failed: %s\n", program, v.reason.c_str());
    return v.ok ? 0 : 1;
}

int merge(const std::vector<std::string_view>& files, bool force) {
    std::vector<nlohmann::json> runs;
    loadgen::merge_options mo;
    mo.force = force;
    for (std::string_view f : files) {
        std::ifstream in{std::string(f)};
        if (!in) rot13::throw_errno("cannot open " + std::string(f));
        try {
            runs.push_back(nlohmann::json::parse(in));
        } catch (const nlohmann::json::exception& e) {
            throw std::runtime_error(std::string(f) + ": " + e.what());
        }
        mo.names.emplace_back(f);
    }
    nlohmann::json merged = loadgen::merge_results(runs, mo);
    std::fputs(loadgen::results_text(merged).c_str(), stdout);
    // One line on stderr says what was merged, so that a mistake shows without reading JSON.
    std::fprintf(stderr, "%s merge: %s\n", program, loadgen::describe_merge(merged).c_str());
    return 0;
}

[[noreturn]] void usage_exit(const std::string& message) {
    std::exit(rot13::print_usage_error(program, message));
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string_view> args(argv + 1, argv + argc);
    if (!args.empty() && args[0] == "merge") {
        args.erase(args.begin());
        bool force = false;
        std::vector<std::string_view> files;
        for (std::string_view a : args) {
            if (a == "--help" || a == "-h") {
                std::fputs(loadgen::usage_text().c_str(), stdout);
                return 0;
            }
            if (a == "--force")
                force = true;
            else if (a.size() > 1 && a[0] == '-')
                usage_exit("merge: unknown option '" + std::string(a) + "' (merge takes --force and files)");
            else
                files.push_back(a);
        }
        if (files.empty()) usage_exit("merge needs at least one results file");
        return rot13::run_main(program, [&] { return merge(files, force); });
    }
    if (!args.empty() && args[0] == "run") args.erase(args.begin());

    loadgen::options opts;
    try {
        opts = loadgen::parse_options(args);
    } catch (const rot13::usage_error& e) {
        usage_exit(e.what());
    }
    if (opts.help) {
        std::fputs(loadgen::usage_text().c_str(), stdout);
        return 0;
    }
    return rot13::run_main(program, [&] { return run(opts); });
}
