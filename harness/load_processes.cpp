#include "harness/load_processes.hpp"

#include <cstdio>
#include <fstream>

namespace harness {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// How one rot13-load process of a run is started: where, and for several generators the
// common start and its label.
struct load_target {
    const std::optional<host_entry>& host;  // empty: here
    std::optional<double> start_at;         // --start-at, epoch seconds
    std::string label;                      // --label; empty: none
};

std::vector<std::string> load_command(const run_config& run, const run_options& opts, std::uint16_t port,
                                      const fs::path& json_file, const load_target& target) {
    const load_point& l = run.load;
    std::vector<std::string> argv{opts.loadgen.string(), "--port", std::to_string(port), "--connections",
                                  std::to_string(l.connections)};
    if (l.depth) argv.insert(argv.end(), {"--depth", std::to_string(*l.depth)});
    if (l.rate) argv.insert(argv.end(), {"--rate", format_number(*l.rate), "--arrivals", l.arrivals});
    if (l.rate && l.spin_us > 0) argv.insert(argv.end(), {"--spin-us", format_number(l.spin_us)});
    argv.insert(argv.end(),
                {"--idle", std::to_string(l.idle), "--size", std::to_string(l.size), "--duration",
                 format_number(l.duration_s), "--warmup", format_number(l.warmup_s), "--seed",
                 std::to_string(opts.payload_seed), "--json", target.host ? "-" : json_file.string()});
    if (!opts.hosts.address.empty()) argv.insert(argv.end(), {"--host", opts.hosts.address});
    if (target.start_at) {
        char epoch[32];
        std::snprintf(epoch, sizeof(epoch), "%.3f", *target.start_at);
        argv.insert(argv.end(), {"--start-at", epoch});
    }
    if (!target.label.empty()) argv.insert(argv.end(), {"--label", target.label});
    // Its stdin is a pipe from the harness: closing it is a stop request every OS can make,
    // and if the harness dies, however it dies, rot13-load ends by itself.
    argv.push_back("--stop-on-stdin-close");
    // On another host: through its prefix, pinned there with taskset, the results object on
    // stdout (the harness writes it to json_file), no summary.
    if (const auto& host = target.host) {
        argv.push_back("--quiet");
        if (!host->program.empty()) argv.front() = host->program;
        std::vector<std::string> remote = host->command;
        if (!host->cpus.empty()) remote.insert(remote.end(), {"taskset", "-c", host->cpus});
        argv.insert(argv.begin(), remote.begin(), remote.end());
    }
    if (!opts.source.empty()) argv.insert(argv.end(), {"--source", opts.source});
    return argv;
}

// rot13-load's results object (null when it wrote none), and why it
// failed ("" when it did not).
struct load_results {
    json result;
    std::string failure;
};

load_results read_load_results(const fs::path& load_json, const fs::path& load_log, const exit_status& exit) {
    load_results out;
    try {
        std::ifstream in(load_json);
        if (in) out.result = json::parse(in);
    } catch (const json::exception&) {
        out.result = nullptr;
    }
    if (!out.result.is_object()) {
        out.result = nullptr;
        out.failure = with_log_line("rot13-load wrote no results (" + exit.describe() + ")", load_log);
        return out;
    }
    if (!exit.exited_zero() || out.result.value("status", "") != "ok") {
        std::string why = out.result.contains("reason") && out.result["reason"].is_string()
                              ? out.result["reason"].get<std::string>()
                              : "";
        out.failure = "rot13-load: " + (why.empty() ? exit.describe() : why);
    }
    fs::remove(load_json);  // it is in the results file now
    return out;
}

}  // namespace

std::string last_line(const fs::path& file) {
    std::ifstream in(file);
    std::string line, last;
    while (std::getline(in, line))
        if (!line.empty()) last = line;
    return last.size() > 200 ? last.substr(0, 200) + "..." : last;
}

std::string with_log_line(std::string reason, const fs::path& log) {
    std::string line = last_line(log);
    return line.empty() ? reason : reason + ": " + line;
}

void load_process::drain() {
    if (!child || !json_on_stdout) return;
    std::string text;
    child->read_stdout(text);
    if (!text.empty()) std::ofstream(json_file, std::ios::app) << text;
}

load_start start_load(const run_config& run, const run_options& opts, std::uint16_t port,
                      const fs::path& logs, const std::string& name, std::vector<std::string>& notes) {
    load_start s;
    auto start_one = [&](const load_target& target, const std::vector<int>& cpus, const fs::path& json_file,
                         const fs::path& log, const std::string& who) {
        s.commands.push_back(load_command(run, opts, port, json_file, target));
        const bool remote = target.host.has_value();
        // A remote generator is pinned on its host (taskset), not here.
        load_process p{std::make_unique<child_process>(spawn_options{
                           s.commands.back(), remote ? std::vector<int>{} : cpus, remote, true, log}),
                       json_file, remote};
        if (!p.child->pin_error().empty()) notes.push_back(who + " not pinned: " + p.child->pin_error());
        s.loads.push_back(std::move(p));
    };
    if (run.load.generators.empty()) {
        s.logs.push_back(logs / (name + ".load.log"));
        start_one({opts.hosts.load, std::nullopt, ""}, opts.pins.load_cpus, logs / (name + ".load.json"),
                  s.logs.back(), "load generator");
        return s;
    }
    s.plans = plan_generators(run.load, opts.pins.load_cpus);
    for (std::size_t i = 0; i < s.plans.size(); ++i)
        s.logs.push_back(logs / (name + ".load" + std::to_string(i + 1) + ".log"));
    for (const auto& log : s.logs) fs::remove(log);
    reach_result reach = reach_hosts(s.plans, s.logs, 10s);
    s.unreachable = reach.unreachable;
    s.lead_s = start_lead_s(reach.slowest_s, run.load);
    const double start_at = epoch_now_s() + s.lead_s;
    for (std::size_t i = 0; i < s.plans.size(); ++i) {
        const fs::path json_file = logs / (name + ".load" + std::to_string(i + 1) + ".json");
        fs::remove(json_file);
        if (!s.unreachable[i].empty()) {
            s.commands.push_back(
                load_command(run, opts, port, json_file, {s.plans[i].host, start_at, s.plans[i].label}));
            s.loads.push_back({nullptr, json_file, false});
            continue;
        }
        start_one({s.plans[i].host, start_at, s.plans[i].label}, s.plans[i].cpus, json_file, s.logs[i],
                  "generator " + s.plans[i].label);
    }
    return s;
}

void take_load(load_start& started, json& record, std::vector<std::string>& failures) {
    if (started.plans.empty()) {
        load_process& load = started.loads.front();
        load_results r = read_load_results(load.json_file, started.logs.front(), *load.child->exited());
        for (const char* key : {"summary", "histograms", "timeseries", "loadgen"})
            record[key] = r.result.is_object() && r.result.contains(key) ? r.result[key] : json(nullptr);
        if (!r.failure.empty()) failures.push_back(r.failure);
        return;
    }
    std::vector<generator_result> results;
    for (std::size_t i = 0; i < started.plans.size(); ++i) {
        generator_result g{started.plans[i].label, started.commands[i], std::nullopt, nullptr, ""};
        if (!started.unreachable[i].empty())
            g.failure = with_log_line(started.unreachable[i], started.logs[i]);
        if (const auto& child = started.loads[i].child) {
            g.exit = child->exited();
            load_results r = read_load_results(started.loads[i].json_file, started.logs[i], *g.exit);
            g.result = std::move(r.result);
            g.failure = r.failure;
        }
        results.push_back(std::move(g));
    }
    record_generators(results, record, failures);
}

}  // namespace harness
