// rot13-bench: runs suites of server variants x backends x loads carefully, and records
// everything needed to judge a number (docs/harness.md).
//
//   rot13-bench list                          every variant: built, or why not; its backends
//   rot13-bench run SUITE.json [--out DIR]    run a suite, write DIR/results.json
//   rot13-bench run SUITE.json --out DIR --resume
//
// Progress goes to stderr, one line per run with an ETA; the summary table to stdout.
#include <algorithm>
#include <cstring>
#include <ctime>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string_view>

#include "common/errors.hpp"
#include "common/signals.hpp"
#include "harness/context.hpp"
#include "harness/knee.hpp"
#include "harness/precision.hpp"
#include "harness/process.hpp"
#include "harness/results.hpp"
#include "harness/runner.hpp"
#include "harness/serve.hpp"
#include "harness/suite.hpp"
#include "harness/summary.hpp"
#include "harness/variants.hpp"
#include "loadgen/platform.hpp"

namespace fs = std::filesystem;
using namespace harness;

namespace {

constexpr const char* usage = R"(usage: rot13-bench list
       rot13-bench run SUITE.json [options]
       rot13-bench serve [--server-cpus LIST] -- SERVER ARGV...

Runs a suite of ROT13 servers x backends x loads (harness/suites/*.json, format in
docs/harness.md): each run starts a fresh server pinned to its CPUs, probes it, drives
rot13-load on the other CPUs, and records the load generator's results with the server's
CPU time, memory and exit. Results: DIR/results.json (docs/results.schema.json), rewritten
after every run; Ctrl-C stops at once and keeps the finished runs.

run options:
  --out DIR           results directory (default: results/SUITE-YYYYmmdd-HHMMSS-HOST)
  --resume            continue the suite in --out DIR, skipping the runs it has
  --server-cpus LIST  CPUs for the servers, e.g. 0 or 0-3 (default: first half of the allowed CPUs)
  --load-cpus LIST    CPUs for rot13-load (default: the other half)
  --source A-B        spread rot13-load's connections over these IPv4 source addresses
                      (e.g. 127.0.0.1-127.0.0.8), past one address's ephemeral ports
  --seed N            seed of the run order and the payload (default: the suite's, else random)
  --generators N      run every closed and open load that names no "generators" of its own
                      with N load generators on the load host, started together and merged
                      (docs/multi-host.md)
  --ready-timeout S   seconds a server has to become ready (default 10)
  --bin-dir DIR       where the servers and rot13-load are (default: rot13-bench's own directory)
  --precision P       after the planned repetitions, add interleaved rounds of every
                      configuration whose 95 % interval of the median server CPU per line
                      or lines/s reaches past ±P % (needs 6 ok runs at least), until all
                      are within or the budget is spent (suite key "precision")
  --budget S          seconds the extra rounds may take in all (default 600); a round
                      that starts before the budget is spent runs to its end
  --dry-run           print the runs in order and the preflight warnings; run nothing
  --help              this text

serve: the far end of a run whose server is on another host (suite key "hosts",
docs/multi-host.md): started there through the host's command prefix (ssh, ip netns
exec, ...), it starts the server, relays its readiness line, and answers "sample" on stdin
with the server's CPU and memory; the end of stdin stops the server (harness/serve.hpp).

Exit status: 0 the suite finished (failed runs are data: see the table), 1 error,
2 usage or suite error, 130 interrupted (resume with --resume).
)";

struct cli {
    std::string command;
    fs::path suite_file;
    fs::path out;
    bool resume = false;
    bool dry_run = false;
    std::string server_cpus, load_cpus, source;
    std::optional<std::uint64_t> seed;
    std::optional<int> generators;
    double ready_timeout_s = 10;
    std::optional<double> precision_percent, budget_s;
    std::vector<std::string> server_argv;  // serve
    fs::path bin_dir;
};

double parse_seconds(std::string_view flag, const std::string& text) {
    try {
        std::size_t used = 0;
        double v = std::stod(text, &used);
        if (used == text.size() && v > 0) return v;
    } catch (const std::exception&) {
    }
    throw rot13::usage_error(std::string(flag) + " expects a number of seconds > 0, got '" + text + "'");
}

cli parse_cli(int argc, char** argv) {
    cli c;
    std::vector<std::string> args(argv + 1, argv + argc);
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= args.size()) throw rot13::usage_error(a + " needs a value");
            return args[++i];
        };
        if (a == "--" && c.command == "serve") {
            c.server_argv.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
            break;
        }
        if (a == "--help" || a == "-h")
            c.command = "help";
        else if (a == "--out")
            c.out = value();
        else if (a == "--resume")
            c.resume = true;
        else if (a == "--dry-run")
            c.dry_run = true;
        else if (a == "--server-cpus")
            c.server_cpus = value();
        else if (a == "--load-cpus")
            c.load_cpus = value();
        else if (a == "--source")
            c.source = value();
        else if (a == "--bin-dir")
            c.bin_dir = value();
        else if (a == "--ready-timeout")
            c.ready_timeout_s = parse_seconds(a, value());
        else if (a == "--budget")
            c.budget_s = parse_seconds(a, value());
        else if (a == "--precision") {
            std::string v = value();
            try {
                std::size_t used = 0;
                double p = std::stod(v, &used);
                if (used != v.size() || !(p > 0 && p < 100)) throw std::invalid_argument(v);
                c.precision_percent = p;
            } catch (const std::exception&) {
                throw rot13::usage_error("--precision expects a percentage between 0 and 100, got '" + v + "'");
            }
        } else if (a == "--generators") {
            std::string v = value();
            try {
                std::size_t used = 0;
                int n = std::stoi(v, &used);
                if (used != v.size() || n < 1 || n > 64) throw std::invalid_argument(v);
                c.generators = n;
            } catch (const std::exception&) {
                throw rot13::usage_error("--generators expects a number of generators from 1 to 64, got '" +
                                         v + "'");
            }
        } else if (a == "--seed") {
            std::string v = value();
            try {
                std::size_t used = 0;
                c.seed = std::stoull(v, &used);
                if (used != v.size()) throw std::invalid_argument(v);
            } catch (const std::exception&) {
                throw rot13::usage_error("--seed expects a non-negative integer, got '" + v + "'");
            }
        } else if (a.starts_with("-"))
            throw rot13::usage_error("unknown option '" + a + "'");
        else if (c.command.empty())
            c.command = a;
        else if (c.command == "run" && c.suite_file.empty())
            c.suite_file = a;
        else
            throw rot13::usage_error("unexpected argument '" + a + "'");
    }
    if (c.command == "help") return c;
    if (c.command != "list" && c.command != "run" && c.command != "serve")
        throw rot13::usage_error(c.command.empty() ? "a command is needed: list, run or serve"
                                                   : "unknown command '" + c.command + "'");
    if (c.command == "serve" && c.server_argv.empty())
        throw rot13::usage_error("serve needs the server's command line after --");
    if (c.command == "run" && c.suite_file.empty()) throw rot13::usage_error("run needs a suite file");
    if (c.resume && c.out.empty())
        throw rot13::usage_error("--resume needs --out DIR (the interrupted suite's directory)");
    return c;
}

int list_variants(const variant_table& table) {
    std::printf("%-28s %-6s %-20s %s\n", "variant", "built", "backends", "cap / why not built");
    for (const auto& v : table.variants) {
        std::string backends;
        for (const auto& b : v.backends) backends += (backends.empty() ? "" : ",") + b;
        std::printf("%-28s %-6s %-20s %s\n", v.shown_name().c_str(), v.built ? "yes" : "no",
                    backends.empty() ? "-" : backends.c_str(), v.built ? v.cap.c_str() : v.reason.c_str());
    }
    fs::path load = program_path(table.bin_dir, "rot13-load");
    std::printf("\nload generator: %s (%s)\n", load.string().c_str(), is_program(load) ? "found" : "missing");
    return 0;
}

std::string default_out_dir(const std::string& suite_name) {
    char stamp[32];
    std::time_t now = std::time(nullptr);
    std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", std::localtime(&now));  // one thread here
    std::string host = loadgen::describe_system().host;
    return "results/" + suite_name + "-" + stamp + "-" + (host.empty() ? "host" : host);
}

json without_run_keys(json suite_json) {
    for (const char* key : {"seed", "order", "file", "generators"}) suite_json.erase(key);
    return suite_json;
}

std::string run_title(const run_config& r) {
    return shown_name(r.server) + " " + describe_load(r.load) + " rep " + std::to_string(r.repetition);
}

struct loop_outcome {
    bool interrupted = false;
    int failed = 0;
};

// Runs what is not done yet, recording each run as it ends, with a progress line and an
// ETA on stderr (the overhead per run of starting, probing and stopping is learned as
// the suite goes). Stops at once on SIGINT or SIGTERM.
loop_outcome run_in_order(const std::vector<run_config>& order, std::set<std::string>& done,
                          results_file& results, const run_options& opts) {
    loop_outcome outcome;
    double overhead_sum = 0;
    int measured = 0;
    for (std::size_t i = 0; i < order.size(); ++i) {
        const run_config& run = order[i];
        if (done.count(run.id)) continue;
        if (rot13::stop_requested()) {
            outcome.interrupted = true;
            break;
        }
        std::cerr << "[" << i + 1 << "/" << order.size() << "] " << run_title(run) << " … " << std::flush;
        std::optional<json> record = run.load.knee ? execute_knee(run, opts) : execute_run(run, opts);
        if (!record) {
            outcome.interrupted = true;
            std::cerr << "interrupted\n";
            break;
        }
        if (record->contains("wall_s")) {
            overhead_sum += (*record)["wall_s"].get<double>() - run.load.duration_s - run.load.warmup_s;
            ++measured;
        }
        if ((*record)["status"] == "failed") ++outcome.failed;
        std::string line = run_outcome(*record);
        results.add_run(std::move(*record));
        done.insert(run.id);
        double overhead = measured ? std::max(0.0, overhead_sum / measured) : 1.0, eta = 0;
        for (const auto& r : order)
            if (!done.count(r.id) && r.server.skip_reason.empty())
                eta += r.load.duration_s + r.load.warmup_s + overhead;
        std::cerr << line << (eta > 0 ? "  (ETA " + format_duration(eta) + ")" : "") << '\n';
    }
    return outcome;
}

// --precision: extra interleaved rounds of the configurations whose interval is still wider
// than ±percent (harness/precision.hpp), until none is or the budget is spent. Each round's
// runs join suite.order, so that the paired comparisons of the report see them as
// interleaved. Returns the runs it added, and records the outcome as "precision".
std::vector<run_config> precision_rounds(const std::vector<run_config>& runs, double percent, double budget_s,
                                         std::uint64_t seed, std::set<std::string>& done, results_file& results,
                                         const run_options& opts, loop_outcome& outcome) {
    using clock_type = std::chrono::steady_clock;
    const auto began = clock_type::now();
    auto spent = [&] { return std::chrono::duration<double>(clock_type::now() - began).count(); };
    std::vector<run_config> added;
    std::string stopped;
    int rounds = 0;
    for (;;) {
        std::vector<cell_precision> cells = assess(runs, results.document()["runs"]);
        // A resumed suite may have recorded extra rounds already: they count as done.
        std::vector<run_config> round = next_round(runs, cells, percent, seed + 0x9e3779b97f4a7c15ull * (rounds + 1));
        if (round.empty()) {
            stopped = "target";
            break;
        }
        if (spent() >= budget_s) {
            stopped = "budget";
            break;
        }
        ++rounds;
        std::cerr << "rot13-bench: precision round " << rounds << ": " << round.size()
                  << " configuration(s) wider than ±" << format_number(percent) << " % (" << format_duration(spent())
                  << " of " << format_duration(budget_s) << " spent)\n";
        for (const auto& cell : cells)
            if (cell.ok > 0 && !cell.within(percent)) std::cerr << "  " << describe(cell) << '\n';
        for (const auto& r : round) results.document()["suite"]["order"].push_back(r.id);
        loop_outcome more = run_in_order(round, done, results, opts);
        outcome.failed += more.failed;
        added.insert(added.end(), round.begin(), round.end());
        if (more.interrupted) {
            outcome.interrupted = true;
            stopped = "interrupted";
            break;
        }
    }
    std::vector<cell_precision> cells = assess(runs, results.document()["runs"]);
    results.document()["precision"] = precision_json(cells, percent, budget_s, spent(), rounds, stopped);
    results.write();
    int within = 0;
    for (const auto& cell : cells) within += cell.within(percent);
    std::cerr << "rot13-bench: precision: " << within << " of " << cells.size() << " configurations within ±"
              << format_number(percent) << " % after " << rounds << " extra round(s), " << format_duration(spent())
              << " (stopped: " << stopped << ")\n";
    for (const auto& cell : cells)
        if (!cell.within(percent)) std::cerr << "  not within: " << describe(cell) << '\n';
    return added;
}

int run_suite(const cli& c, const variant_table& variants) {
    suite s = load_suite(c.suite_file, variants);
    if (c.generators) default_generators(s, *c.generators);
    if (c.budget_s && !c.precision_percent && !s.precision_percent)
        throw rot13::usage_error("--budget limits the extra rounds of --precision: give --precision too");
    std::vector<run_config> runs = expand(s);
    limits lim = raise_and_read_limits();
    std::vector<std::string> warnings = preflight(runs, lim, !c.source.empty());
    for (const auto& w : warnings) std::cerr << "rot13-bench: warning: " << w << '\n';

    fs::path out = c.out.empty() ? fs::path(default_out_dir(s.name)) : c.out;
    results_file results(out);
    std::set<std::string> done;
    std::uint64_t seed = c.seed   ? *c.seed
                         : s.seed ? *s.seed
                                  : std::random_device{}() * 0x100000000ull + std::random_device{}();
    if (c.resume) {
        results.load();
        const json& recorded = results.document()["suite"];
        if (without_run_keys(recorded) != without_run_keys(s.source))
            throw rot13::usage_error(results.path().string() +
                                     " was written by a different suite; resume needs the same " +
                                     c.suite_file.string());
        std::uint64_t recorded_seed = recorded.at("seed").get<std::uint64_t>();
        if (c.seed && *c.seed != recorded_seed)
            throw rot13::usage_error("--seed cannot change when resuming");
        // The run ids depend on it: another value would run the whole suite again.
        const json recorded_generators = recorded.value("generators", json(nullptr));
        if (recorded_generators != (c.generators ? json(*c.generators) : json(nullptr)))
            throw rot13::usage_error("--generators cannot change when resuming (the suite ran with " +
                                     (recorded_generators.is_null()
                                          ? std::string("none")
                                          : "--generators " + recorded_generators.dump()) +
                                     ")");
        seed = recorded_seed;
        done = results.recorded_ids();
    } else if (!c.dry_run && results.exists()) {
        throw rot13::usage_error(results.path().string() +
                                 " exists: pass --resume to continue it, or another --out");
    }
    std::vector<run_config> order = interleave(runs, seed);

    // A run is its window, its warm-up and about a second of start and stop; a knee search
    // is a run per probe, typically ten (docs/harness.md: 6-15).
    constexpr double typical_knee_probes = 10;
    double planned = 0;
    for (const auto& r : order)
        if (!done.count(r.id) && r.server.skip_reason.empty())
            planned += (r.load.knee ? typical_knee_probes : 1) * (r.load.duration_s + r.load.warmup_s + 1);
    const std::optional<double> precision = c.precision_percent ? c.precision_percent : s.precision_percent;
    const double precision_budget = c.budget_s.value_or(s.precision_budget_s.value_or(600));
    std::string extra;
    if (precision) extra = ", plus up to " + format_duration(precision_budget) + " of --precision rounds";
    std::cerr << "rot13-bench: suite " << s.name << ": " << order.size() << " runs (" << s.servers.size()
              << " servers, " << s.loads.size() << " loads, " << s.repetitions << " repetitions), seed "
              << seed << ", about " << format_duration(planned) << extra << '\n';
    if (c.dry_run) {
        for (std::size_t i = 0; i < order.size(); ++i)
            std::cout << i + 1 << '\t' << order[i].id
                      << (order[i].server.skip_reason.empty()
                              ? ""
                              : "\t(skipped: " + order[i].server.skip_reason + ")")
                      << '\n';
        return 0;
    }

    run_options opts;
    opts.out_dir = out;
    opts.loadgen = program_path(variants.bin_dir, "rot13-load");
    if (!is_program(opts.loadgen))
        throw std::runtime_error("the load generator " + opts.loadgen.string() +
                                 " is missing: build it first");
    try {
        opts.pins = choose_pinning(c.server_cpus, c.load_cpus);
    } catch (const std::invalid_argument& e) {
        throw rot13::usage_error(e.what());
    }
    opts.source = c.source;
    opts.hosts = s.hosts;
    // By default the server host runs the same rot13-bench from the same path (netns,
    // containers, identical installs); the suite names another with "program".
    if (opts.hosts.server && opts.hosts.server->program.empty())
        opts.hosts.server->program = program_path(variants.bin_dir, "rot13-bench").string();
    opts.payload_seed = seed & 0x7fffffffffffffffull;
    opts.ready_timeout = std::chrono::milliseconds(static_cast<long>(c.ready_timeout_s * 1000));

    fs::create_directories(out);
    json ctx = collect_context(variants, lim, opts.pins, warnings);
    if (c.resume) {
        json& recorded = results.document()["context"];
        if (!recorded.contains("resumed")) recorded["resumed"] = json::array();
        recorded["resumed"].push_back({{"date", ctx["date"]},
                                       {"host", ctx["host"]},
                                       {"git_commit", ctx["git_commit"]},
                                       {"pinning", ctx["pinning"]},
                                       {"skipped_runs", done.size()}});
        results.write();
        std::cerr << "rot13-bench: resuming " << results.path().string() << ": " << done.size() << " of "
                  << order.size() << " runs already recorded\n";
    } else {
        json suite_as_run = s.source;
        suite_as_run["file"] = c.suite_file.string();
        suite_as_run["seed"] = seed;
        if (c.generators) suite_as_run["generators"] = *c.generators;
        json ids = json::array();
        for (const auto& r : order) ids.push_back(r.id);
        suite_as_run["order"] = ids;
        results.start(suite_as_run, ctx);
    }
    std::cerr << "rot13-bench: pinning: server CPUs "
              << (opts.pins.server_cpus.empty() ? "any" : format_cpu_list(opts.pins.server_cpus))
              << ", load CPUs "
              << (opts.pins.load_cpus.empty() ? "any" : format_cpu_list(opts.pins.load_cpus)) << " ("
              << opts.pins.note << "); results: " << results.path().string() << '\n';

    rot13::install_signal_handlers();
    become_subreaper();
    loop_outcome outcome = run_in_order(order, done, results, opts);
    std::vector<run_config> table_runs = runs;
    if (precision && !outcome.interrupted) {
        std::vector<run_config> added =
            precision_rounds(runs, *precision, precision_budget, seed, done, results, opts, outcome);
        // The summary table wants each cell's repetitions together, in suite order.
        table_runs.insert(table_runs.end(), added.begin(), added.end());
        std::map<std::string, std::size_t> position;
        for (const auto& r : runs) position.emplace(r.cell, position.size());
        std::stable_sort(table_runs.begin(), table_runs.end(), [&](const run_config& a, const run_config& b) {
            return std::pair(position[a.cell], a.repetition) < std::pair(position[b.cell], b.repetition);
        });
    }
    std::cout << '\n';
    print_summary_table(std::cout, table_runs, results.document()["runs"]);
    std::cout << '\n';
    if (outcome.failed)
        std::cerr << "rot13-bench: " << outcome.failed
                  << " run(s) failed: see \"reason\" in the results and the logs in "
                  << (out / "logs").string() << '\n';
    std::cerr << "rot13-bench: results: " << results.path().string() << '\n';
    if (outcome.interrupted) {
        std::cerr << "rot13-bench: interrupted after " << results.document()["runs"].size() << " of "
                  << order.size() << " runs; continue with: rot13-bench run " << c.suite_file.string()
                  << " --out " << out.string() << " --resume\n";
        return 130;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return rot13::run_main("rot13-bench", [&] {
        cli c;
        try {
            c = parse_cli(argc, argv);
        } catch (const rot13::usage_error& e) {
            std::cerr << "rot13-bench: " << e.what() << "\nsee 'rot13-bench --help'\n";
            return 2;
        }
        if (c.command == "help") {
            std::cout << usage;
            return 0;
        }
        if (c.command == "serve") {
            rot13::install_signal_handlers();  // SIGPIPE ignored; a SIGTERM ends it like the end of stdin
            return serve(c.server_argv, c.server_cpus);
        }
        variant_table variants = load_variants(c.bin_dir.empty() ? executable_dir() : c.bin_dir);
        if (c.command == "list") return list_variants(variants);
        try {
            return run_suite(c, variants);
        } catch (const suite_error& e) {
            std::cerr << "rot13-bench: error: " << e.what() << '\n';
            return 2;
        } catch (const rot13::usage_error& e) {
            std::cerr << "rot13-bench: error: " << e.what() << '\n';
            return 2;
        }
    });
}
