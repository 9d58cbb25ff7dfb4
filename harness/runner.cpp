#include "harness/runner.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <csignal>
#include <fstream>
#include <sstream>

#include "common/signals.hpp"
#include "common/socket.hpp"
#include "harness/generators.hpp"
#include "harness/machine.hpp"
#include "harness/probe.hpp"
#include "harness/process.hpp"
#include "harness/server_session.hpp"

namespace harness {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr auto sample_period = 250ms;
constexpr auto probe_timeout = 3s;

double seconds_between(clock_type::time_point from, clock_type::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

// Waits up to `timeout` (never forever), waking at once on a stop request. Returns
// false on a stop.
bool pause_for(std::chrono::milliseconds timeout) {
    pollfd p{rot13::stop_fd(), POLLIN, 0};
    rot13::poll_sockets(&p, 1, static_cast<int>(std::max<std::chrono::milliseconds::rep>(0, timeout.count())));
    return !rot13::stop_requested();
}

// The last non-empty line of a log, for a failure reason.
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

std::string join(const std::vector<std::string>& parts, const char* separator) {
    std::string out;
    for (const auto& p : parts) out += (out.empty() ? "" : separator) + p;
    return out;
}

std::vector<std::string> server_command(const server_entry& s, std::uint16_t custom_port,
                                        const std::string& address) {
    if (!s.command.empty()) {
        std::vector<std::string> argv = s.command;
        for (auto& arg : argv)
            for (std::size_t at; (at = arg.find("{port}")) != std::string::npos;)
                arg.replace(at, 6, std::to_string(custom_port));
        return argv;
    }
    // --stop-on-stdin-close: the harness holds the server's stdin pipe, and closing it is
    // the stop request on every OS (Windows under Wine has no other) besides SIGTERM or
    // Ctrl-Break; if the harness dies, however it dies, the server stops too.
    std::vector<std::string> argv{s.binary.string(), "--port", "0", "--stop-on-stdin-close"};
    if (!address.empty()) argv.insert(argv.end(), {"--bind", address});
    if (s.backend) argv.insert(argv.end(), {"--backend", *s.backend});
    argv.insert(argv.end(), s.args.begin(), s.args.end());
    return argv;
}

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
    argv.insert(argv.end(), {"--idle", std::to_string(l.idle), "--size", std::to_string(l.size), "--duration",
                             format_number(l.duration_s), "--warmup", format_number(l.warmup_s), "--seed",
                             std::to_string(opts.payload_seed), "--json",
                             target.host ? "-" : json_file.string()});
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

// Appends whatever the server wrote on stdout (after its readiness line) to its log, so
// that a chatty server never blocks on a full pipe. Returns false at EOF.
bool drain_stdout(server_session& server, const fs::path& log, std::string* keep = nullptr) {
    std::string text;
    bool open = server.read_stdout(text);
    if (!text.empty()) {
        if (keep) *keep += text;
        std::ofstream(log, std::ios::app) << text;
    }
    return open;
}

struct readiness {
    std::optional<std::uint16_t> port;
    std::string failure;
    bool unavailable = false;  // exit 77: the mechanism is not available on this machine
};

// Step 1: the readiness line "listening on ADDR:PORT" on the server's stdout. A custom
// command may print nothing: for it, its port accepting a connection counts too.
readiness wait_until_ready(server_session& server, std::optional<std::uint16_t> custom_port,
                           std::chrono::milliseconds timeout, const fs::path& log) {
    readiness r;
    const auto deadline = clock_type::now() + timeout;
    std::string out;
    bool open = true;
    while (!rot13::stop_requested()) {
        if (open) open = drain_stdout(server, log, &out);
        for (std::size_t start = 0, end; (end = out.find('\n', start)) != std::string::npos;
             start = end + 1) {
            std::string line = out.substr(start, end - start);
            auto colon = line.rfind(':');
            if (line.rfind("listening on ", 0) != 0 || colon == std::string::npos) continue;
            try {
                r.port = static_cast<std::uint16_t>(std::stoul(line.substr(colon + 1)));
                return r;
            } catch (const std::exception&) {
            }
        }
        if (custom_port && port_accepts(*custom_port, 50ms)) {
            r.port = custom_port;
            return r;
        }
        if (const auto& exit = server.poll_exit()) {
            r.unavailable = exit->exited_with(77);
            r.failure = with_log_line("server exited before it was ready (" + exit->describe() + ")", log);
            return r;
        }
        if (clock_type::now() >= deadline) {
            r.failure = "readiness timeout: " +
                        std::string(custom_port ? "no \"listening on\" line and the port did not accept"
                                                : "no \"listening on\" line") +
                        " within " + format_number(static_cast<double>(timeout.count()) / 1000) + " s";
            return r;
        }
        pause_for(20ms);
    }
    return r;
}

struct cpu_point {
    double t;  // seconds since the load generator started
    group_sample sample;
};

// The group's CPU time at t, linearly interpolated between two samples: user, system
// (both in ticks) and the precise total.
struct cpu_times {
    double user_s, sys_s, total_s;
};
std::optional<cpu_times> cpu_at(const std::vector<cpu_point>& points, double t) {
    for (std::size_t i = 1; i < points.size(); ++i) {
        const auto& a = points[i - 1].sample;
        const auto& b = points[i].sample;
        if (t < points[i - 1].t || t > points[i].t) continue;
        double f =
            points[i].t > points[i - 1].t ? (t - points[i - 1].t) / (points[i].t - points[i - 1].t) : 0;
        return cpu_times{a.user_s + f * (b.user_s - a.user_s), a.sys_s + f * (b.sys_s - a.sys_s),
                         a.cpu_s + f * (b.cpu_s - a.cpu_s)};
    }
    return std::nullopt;
}

}  // namespace

json run_config_json(const run_config& run) {
    const load_point& l = run.load;
    // Several generators each run the load as written: the server sees their sum.
    const int n = std::max<int>(1, static_cast<int>(l.generators.size()));
    json config = {{"server", run.server.label},
            {"variant", run.server.variant.empty() ? json(nullptr) : json(run.server.variant)},
            {"backend", run.server.backend ? json(*run.server.backend) : json(nullptr)},
            {"note", run.server.note.empty() ? json(nullptr) : json(run.server.note)},
            {"repetition", run.repetition},
            {"mode", l.mode},
            {"connections", l.connections * n},
            {"idle", l.idle * n},
            {"depth", l.depth ? json(*l.depth) : json(nullptr)},
            {"rate", l.rate ? json(*l.rate * n) : json(nullptr)},
            {"arrivals", l.rate || l.knee ? json(l.arrivals) : json(nullptr)},
            {"size", l.size},
            {"duration_s", l.duration_s},
            {"warmup_s", l.warmup_s}};
    if (!l.generators.empty()) config["generators"] = n;
    return config;
}

namespace {

json empty_run(const run_config& run) {
    json record;
    record["id"] = run.id;
    record["config"] = run_config_json(run);
    record["status"] = "ok";
    record["reason"] = nullptr;
    for (const char* key : {"summary", "histograms", "timeseries", "loadgen", "server", "machine"})
        record[key] = nullptr;
    return record;
}

}  // namespace

json skipped_run(const run_config& run, const std::string& reason) {
    json record = empty_run(run);
    record["status"] = "skipped";
    record["reason"] = reason;
    return record;
}

namespace {

// One rot13-load process of step 3: its process (null when it was never started: its host
// did not answer) and where its results object goes.
struct load_process {
    std::unique_ptr<child_process> child;
    fs::path json_file;
    bool json_on_stdout = false;  // on another host: its stdout is the results object

    bool running() { return child && !child->poll_exit(); }
    void drain() {
        if (!child || !json_on_stdout) return;
        std::string text;
        child->read_stdout(text);
        if (!text.empty()) std::ofstream(json_file, std::ios::app) << text;
    }
};

// What step 3 saw: the server's process group over time, and how the load ended.
struct load_phase {
    double wall_s = 0;                      // from the start of the load to the last generator's exit
    double started_epoch_s = 0;             // that start by the wall clock, to place --start-at windows
    std::vector<cpu_point> points;          // samples of the server's process group
    std::optional<double> server_died_at;   // seconds after the load started
    std::optional<double> timed_out_after;  // rot13-load had to be stopped after this many seconds
    int processes_max = 0;
    json machine;                           // the machine's counters over the phase
};

// Step 3: waits for every rot13-load while sampling the server, and ends them when the
// server dies or the run overstays (lead_s: how far ahead their common start lies). Returns
// nothing on a stop request; then the destructors of the child_process objects kill and
// reap their process groups.
std::optional<load_phase> drive_load(server_session& server, std::vector<load_process>& loads, const load_point& l,
                                     double lead_s, const fs::path& server_log) {
    load_phase phase;
    const machine_counters machine_before = read_machine_counters();
    const auto t0 = clock_type::now();
    phase.started_epoch_s = epoch_now_s();
    // Generous: opening many connections, the warm-up, the window, writing the JSON.
    const double limit_s = lead_s + l.warmup_s + l.duration_s + 15 + (l.connections + l.idle) / 1000.0;
    const auto deadline =
        t0 + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(limit_s));
    std::optional<clock_type::time_point> term_at, kill_at;
    auto next_sample = t0;
    bool stdout_open = true;
    auto take_sample = [&](clock_type::time_point now) {
        phase.points.push_back({seconds_between(t0, now), server.sample()});
        phase.processes_max = std::max(phase.processes_max, phase.points.back().sample.processes);
    };
    for (;;) {
        if (rot13::stop_requested()) return std::nullopt;
        const auto now = clock_type::now();
        bool running = false;
        for (auto& load : loads) {
            load.drain();
            if (load.running())
                running = true;
            else
                load.drain();  // what it wrote last
        }
        if (!running) break;
        if (!phase.server_died_at && server.poll_exit()) {
            // Give rot13-load a moment to see the failure itself, then end it: on SIGTERM
            // it still writes what it measured.
            phase.server_died_at = seconds_between(t0, now);
            term_at = now + 1s;
        }
        if (!phase.server_died_at && now >= next_sample) {
            take_sample(now);
            next_sample += sample_period;
        }
        if (!term_at && now >= deadline) {
            phase.timed_out_after = std::round(limit_s);
            term_at = now;
        }
        if (term_at && !kill_at && now >= *term_at) {
            for (auto& load : loads)
                if (load.running()) load.child->request_stop();
            kill_at = now + 3s;
        }
        if (kill_at && now >= *kill_at)
            for (auto& load : loads)
                if (load.running()) load.child->kill_and_reap();
        if (stdout_open) stdout_open = drain_stdout(server, server_log);
        auto until_sample = std::chrono::duration_cast<std::chrono::milliseconds>(next_sample - now) + 1ms;
        pause_for(phase.server_died_at ? 50ms
                                       : std::clamp<std::chrono::milliseconds>(until_sample, 1ms, 50ms));
    }
    const auto end = clock_type::now();
    phase.wall_s = seconds_between(t0, end);
    phase.machine = machine_json(machine_before, read_machine_counters(), phase.wall_s);
    if (!server.poll_exit()) take_sample(end);  // so that the window's end lies between two samples
    return phase;
}

// Step 4: SIGTERM to the server's group, SIGKILL after the grace period. Returns whether
// it had to be killed, or nothing on a stop request.
std::optional<bool> stop_server(server_session& server, bool after_load, std::chrono::milliseconds grace) {
    if (server.poll_exit()) return false;
    // A short pause lets a forking server reap the children whose clients just left, so
    // that their CPU time reaches wait4()'s rusage.
    if (after_load) pause_for(100ms);
    server.request_stop();
    const auto deadline = clock_type::now() + grace;
    while (!server.poll_exit() && clock_type::now() < deadline && pause_for(10ms)) {
    }
    if (rot13::stop_requested()) return std::nullopt;
    if (server.exited()) return false;
    server.kill_and_reap();
    return true;
}

// Step 5, rot13-load's part: its results object (null when it wrote none), and why it
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

// Step 5, the server's memory and CPU during the measured window, in seconds since the load
// started. One generator: the window starts once the connections are up (rot13-load's
// ramp_up_s) and the warm-up is over, and lasts the measured duration_s; its own start-up
// (a few ms) is the error. Several: the merge's common window, placed by the wall clock.
// Without those figures: the last duration_s before the load ended.
struct measured_window {
    double start = 0, end = 0;
    double requests = 0;  // the lines the load generators counted in it
};

measured_window window_of(const load_phase& phase, const json& record, const load_point& l) {
    measured_window w{phase.wall_s - l.duration_s, phase.wall_s, 0};
    const json& summary = record["summary"];
    if (!summary.is_object()) return w;
    w.requests = summary.value("requests", 0.0);
    const json& merge = record.value("merge", json(nullptr));
    if (merge.is_object() && merge["common_window_start_epoch_s"].is_number()) {
        w.start = merge["common_window_start_epoch_s"].get<double>() - phase.started_epoch_s;
        w.end = std::min(phase.wall_s, w.start + merge.value("common_window_s", 0.0));
        w.requests = merge.value("common_window_requests", 0.0);
    } else if (summary.contains("ramp_up_s") && summary.contains("duration_s")) {
        w.start = summary["ramp_up_s"].get<double>() + l.warmup_s;
        w.end = std::min(phase.wall_s, w.start + summary["duration_s"].get<double>());
    }
    return w;
}

void window_figures(const load_phase& phase, const measured_window& w, const load_point& l, json& server_info) {
    std::vector<long> rss;
    for (const auto& p : phase.points)
        if (p.t >= w.start - 0.01 && p.t <= w.end + 0.01) rss.push_back(p.sample.rss_kb);
    if (!rss.empty()) {
        std::nth_element(rss.begin(), rss.begin() + static_cast<std::ptrdiff_t>(rss.size() / 2), rss.end());
        long median = rss[rss.size() / 2];
        server_info["rss_kb"] = median;
        server_info["rss_per_conn_kb"] =
            static_cast<double>(median - server_info["rss_idle_kb"].get<long>()) /
            static_cast<double>((l.connections + l.idle) * std::max<std::size_t>(1, l.generators.size()));
    }
    auto cpu_start = cpu_at(phase.points, w.start), cpu_end = cpu_at(phase.points, w.end);
    if (cpu_start && cpu_end) {
        double total = cpu_end->total_s - cpu_start->total_s;
        server_info["cpu_measured_s"] = total;
        server_info["cpu_measured_user_s"] = cpu_end->user_s - cpu_start->user_s;
        server_info["cpu_measured_sys_s"] = cpu_end->sys_s - cpu_start->sys_s;
        if (w.requests > 0) server_info["cpu_us_per_line"] = total / w.requests * 1e6;
    }
}

// Step 3's processes: one rot13-load the usual way, or, for several generators, one per
// generator, each through its host's prefix with the common --start-at and its label.
// Returns the lead to that start (0 for one).
struct load_start {
    std::vector<load_process> loads;
    std::vector<generator_plan> plans;       // several generators: one per process
    std::vector<std::string> unreachable;    // per plan: why it was not started ("": it was)
    std::vector<std::vector<std::string>> commands;
    std::vector<fs::path> logs;
    double lead_s = 0;
};

load_start start_load(const run_config& run, const run_options& opts, std::uint16_t port, const fs::path& logs,
                      const std::string& name, std::vector<std::string>& notes) {
    load_start s;
    auto start_one = [&](const load_target& target, const std::vector<int>& cpus, const fs::path& json_file,
                         const fs::path& log, const std::string& who) {
        s.commands.push_back(load_command(run, opts, port, json_file, target));
        const bool remote = target.host.has_value();
        // A remote generator is pinned on its host (taskset), not here.
        load_process p{std::make_unique<child_process>(spawn_options{s.commands.back(), remote ? std::vector<int>{} : cpus,
                                                                     remote, true, log}),
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
    for (std::size_t i = 0; i < s.plans.size(); ++i) s.logs.push_back(logs / (name + ".load" + std::to_string(i + 1) + ".log"));
    for (const auto& log : s.logs) fs::remove(log);
    reach_result reach = reach_hosts(s.plans, s.logs, 10s);
    s.unreachable = reach.unreachable;
    s.lead_s = start_lead_s(reach.slowest_s, run.load);
    const double start_at = epoch_now_s() + s.lead_s;
    for (std::size_t i = 0; i < s.plans.size(); ++i) {
        const fs::path json_file = logs / (name + ".load" + std::to_string(i + 1) + ".json");
        fs::remove(json_file);
        if (!s.unreachable[i].empty()) {
            s.commands.push_back(load_command(run, opts, port, json_file, {s.plans[i].host, start_at, s.plans[i].label}));
            s.loads.push_back({nullptr, json_file, false});
            continue;
        }
        start_one({s.plans[i].host, start_at, s.plans[i].label}, s.plans[i].cpus, json_file, s.logs[i],
                  "generator " + s.plans[i].label);
    }
    return s;
}

// Step 5 for the load: rot13-load's results go into the run as they are; several
// generators' are merged (harness/generators.hpp).
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
        if (!started.unreachable[i].empty()) g.failure = with_log_line(started.unreachable[i], started.logs[i]);
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

}  // namespace

std::optional<json> execute_run(const run_config& run, const run_options& opts) {
    if (!run.server.skip_reason.empty()) return skipped_run(run, run.server.skip_reason);

    const auto started = clock_type::now();
    json record = empty_run(run);
    record["started"] = utc_now();
    std::vector<std::string> failures;  // the first is the most telling
    std::vector<std::string> notes;

    std::string name = run.id;
    std::replace(name.begin(), name.end(), '/', '_');
    const fs::path logs = opts.out_dir / "logs";
    fs::create_directories(logs);
    const fs::path server_log = logs / (name + ".server.log");
    for (const char* suffix : {".server.log", ".load.log", ".load.json"}) fs::remove(logs / (name + suffix));

    // 1. A fresh server, pinned, in its own process group; wait until it is ready.
    const bool custom = !run.server.command.empty();
    std::optional<std::uint16_t> custom_port;
    if (custom) custom_port = pick_free_port();
    spawn_options server_spawn{server_command(run.server, custom_port.value_or(0), opts.hosts.address),
                               opts.pins.server_cpus, true, !custom, server_log};
    std::unique_ptr<server_session> session = start_server(server_spawn, opts.hosts.server);
    server_session& server = *session;
    record["commands"] = {{"server", server.command()}, {"load", nullptr}};
    if (!server.pin_error().empty()) notes.push_back("server not pinned: " + server.pin_error());
    json server_info = json::object();
    for (const char* key : {"cpu_user_s", "cpu_sys_s", "peak_rss_kb", "rss_idle_kb", "rss_kb",
                            "rss_per_conn_kb", "cpu_measured_s", "cpu_measured_user_s", "cpu_measured_sys_s",
                            "cpu_us_per_line", "processes_max", "exit"})
        server_info[key] = nullptr;
    readiness ready;
    if (!server.exec_error().empty())
        ready.failure = server.exec_error();
    else
        ready = wait_until_ready(server, custom_port, opts.ready_timeout, server_log);
    if (rot13::stop_requested()) return std::nullopt;

    // 2. The correctness probe.
    if (!ready.port) {
        failures.push_back(ready.failure);
    } else if (opts.hosts.server) {
        // The harness may have no route to the server's host (it reaches it through a
        // command prefix only): rot13-load, which checks every reply, is the probe there.
        notes.push_back("no probe: the server is on another host; rot13-load verifies every reply");
    } else if (probe_result probe = probe_rot13(*ready.port, probe_timeout); !probe.ok) {
        failures.push_back(probe.reason);
    }

    // 3. The load, while the server's process group is sampled.
    std::optional<load_phase> phase;
    load_start load;
    if (failures.empty()) {
        // The idle size, once a forking server's probe child has had a moment to exit.
        if (!pause_for(50ms)) return std::nullopt;
        server_info["rss_idle_kb"] = server.sample().rss_kb;
        load = start_load(run, opts, *ready.port, logs, name, notes);
        // Several generators: each one's command is in its own record ("generators").
        record["commands"]["load"] = run.load.generators.empty() ? json(load.commands.front()) : json(nullptr);
        phase = drive_load(server, load.loads, run.load, load.lead_s, server_log);
        if (!phase) return std::nullopt;
        server_info["processes_max"] = phase->processes_max;
        record["machine"] = phase->machine;
        if (phase->timed_out_after)
            failures.push_back("rot13-load did not finish within " + format_number(*phase->timed_out_after) +
                               " s");
    }

    // 4. Stop the server and collect its resource use.
    std::optional<bool> killed = stop_server(server, phase.has_value(), opts.stop_grace);
    if (!killed) return std::nullopt;
    const exit_status& exit = *server.exited();
    const std::string exit_text = *killed ? "timeout" : exit.describe();
    server_info["exit"] = exit_text;
    server_info["cpu_user_s"] = exit.user_s;
    server_info["cpu_sys_s"] = exit.sys_s;
    server_info["peak_rss_kb"] = exit.peak_rss_kb;  // the largest single process
    if (ready.unavailable && failures.size() == 1) {
        record["status"] = "skipped";
        record["reason"] = "unavailable here: " + failures.front();
        record["server"] = server_info;
        return record;
    }

    // 5. Record everything, a crash or a hang included.
    if (phase && phase->server_died_at)
        failures.insert(failures.begin(),
                        with_log_line("server died during the run after " +
                                          format_number(std::round(*phase->server_died_at * 10) / 10) +
                                          " s (" + exit_text + ")",
                                      server_log));
    else if (*killed)
        failures.push_back("server did not exit within " + format_number(opts.stop_grace.count() / 1000.0) +
                           " s of the stop request (killed)");
    else if (!exit.exited_zero() && !(custom && exit.signaled(SIGTERM)))
        failures.push_back("server exited with " + exit_text + " when stopped");
    if (phase) {
        take_load(load, record, failures);
        window_figures(*phase, window_of(*phase, record, run.load), run.load, server_info);
        // When the load failed on a live server, what the server said is often why
        // ("connection cap: select() cannot watch fd >= FD_SETSIZE").
        std::string said = last_line(server_log);
        if (!failures.empty() && !phase->server_died_at && said.rfind("listening on ", 0) != 0 &&
            !said.empty())
            failures.push_back("the server said: " + said);
    }
    record["server"] = server_info;
    record["status"] = failures.empty() ? "ok" : "failed";
    record["reason"] = failures.empty() ? json(nullptr) : json(join(failures, "; "));
    record["wall_s"] = seconds_between(started, clock_type::now());
    record["notes"] = notes;
    return record;
}

}  // namespace harness
