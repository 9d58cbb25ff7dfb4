#include "harness/runner.hpp"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <fstream>
#include <sstream>

#include "common/signals.hpp"
#include "common/socket.hpp"
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

std::vector<std::string> load_command(const run_config& run, const run_options& opts, std::uint16_t port,
                                      const fs::path& json_file) {
    const load_point& l = run.load;
    std::vector<std::string> argv{opts.loadgen.string(), "--port", std::to_string(port), "--connections",
                                  std::to_string(l.connections)};
    if (l.depth) argv.insert(argv.end(), {"--depth", std::to_string(*l.depth)});
    if (l.rate) argv.insert(argv.end(), {"--rate", format_number(*l.rate), "--arrivals", l.arrivals});
    argv.insert(argv.end(), {"--idle", std::to_string(l.idle), "--size", std::to_string(l.size), "--duration",
                             format_number(l.duration_s), "--warmup", format_number(l.warmup_s), "--seed",
                             std::to_string(opts.payload_seed), "--json",
                             opts.hosts.load ? "-" : json_file.string()});
    if (!opts.hosts.address.empty()) argv.insert(argv.end(), {"--host", opts.hosts.address});
    // Its stdin is a pipe from the harness: closing it is a stop request every OS can make,
    // and if the harness dies, however it dies, rot13-load ends by itself.
    argv.push_back("--stop-on-stdin-close");
    // On another host: through its prefix, pinned there with taskset, the results object on
    // stdout (the harness writes it to json_file), no summary.
    if (const auto& host = opts.hosts.load) {
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
    return {{"server", run.server.label},
            {"variant", run.server.variant.empty() ? json(nullptr) : json(run.server.variant)},
            {"backend", run.server.backend ? json(*run.server.backend) : json(nullptr)},
            {"note", run.server.note.empty() ? json(nullptr) : json(run.server.note)},
            {"repetition", run.repetition},
            {"mode", l.mode},
            {"connections", l.connections},
            {"idle", l.idle},
            {"depth", l.depth ? json(*l.depth) : json(nullptr)},
            {"rate", l.rate ? json(*l.rate) : json(nullptr)},
            {"arrivals", l.rate || l.knee ? json(l.arrivals) : json(nullptr)},
            {"size", l.size},
            {"duration_s", l.duration_s},
            {"warmup_s", l.warmup_s}};
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

// What step 3 saw: rot13-load's exit, and the server's process group over time.
struct load_phase {
    std::optional<exit_status> exit;        // rot13-load's
    double wall_s = 0;                      // from its start to its exit
    std::vector<cpu_point> points;          // samples of the server's process group
    std::optional<double> server_died_at;   // seconds after rot13-load started
    std::optional<double> timed_out_after;  // rot13-load had to be stopped after this many seconds
    int processes_max = 0;
    json machine;                           // the machine's counters over the phase
};

// Step 3: waits for rot13-load while sampling the server, and ends rot13-load when the
// server dies or the run overstays. Returns nothing on a stop request; then the
// destructors of both child_process objects kill and reap their process groups.
std::optional<load_phase> drive_load(server_session& server, child_process& load, const load_point& l,
                                     const fs::path& server_log, const fs::path& load_json, bool load_json_on_stdout) {
    load_phase phase;
    const machine_counters machine_before = read_machine_counters();
    const auto t0 = clock_type::now();
    // Generous: opening many connections, the warm-up, the window, writing the JSON.
    const double limit_s = l.warmup_s + l.duration_s + 15 + (l.connections + l.idle) / 1000.0;
    const auto deadline =
        t0 + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(limit_s));
    std::optional<clock_type::time_point> term_at, kill_at;
    auto next_sample = t0;
    bool stdout_open = true;
    auto drain_load = [&] {
        if (!load_json_on_stdout) return;
        std::string text;
        load.read_stdout(text);
        if (!text.empty()) std::ofstream(load_json, std::ios::app) << text;
    };
    auto take_sample = [&](clock_type::time_point now) {
        phase.points.push_back({seconds_between(t0, now), server.sample()});
        phase.processes_max = std::max(phase.processes_max, phase.points.back().sample.processes);
    };
    for (;;) {
        if (rot13::stop_requested()) return std::nullopt;
        const auto now = clock_type::now();
        drain_load();
        if (load.poll_exit()) {
            drain_load();
            break;
        }
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
            load.request_stop();
            kill_at = now + 3s;
        }
        if (kill_at && now >= *kill_at) load.kill_and_reap();
        if (stdout_open) stdout_open = drain_stdout(server, server_log);
        auto until_sample = std::chrono::duration_cast<std::chrono::milliseconds>(next_sample - now) + 1ms;
        pause_for(phase.server_died_at ? 50ms
                                       : std::clamp<std::chrono::milliseconds>(until_sample, 1ms, 50ms));
    }
    const auto end = clock_type::now();
    phase.wall_s = seconds_between(t0, end);
    phase.machine = machine_json(machine_before, read_machine_counters(), phase.wall_s);
    phase.exit = load.exited();
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

// Step 5, rot13-load's part: its results object goes into the run as it is.
void take_load_results(const fs::path& load_json, const fs::path& load_log, const exit_status& exit,
                       json& record, std::vector<std::string>& failures) {
    json result;
    try {
        std::ifstream in(load_json);
        if (in) result = json::parse(in);
    } catch (const json::exception&) {
        result = nullptr;
    }
    if (!result.is_object()) {
        failures.push_back(with_log_line("rot13-load wrote no results (" + exit.describe() + ")", load_log));
        return;
    }
    for (const char* key : {"summary", "histograms", "timeseries", "loadgen"})
        record[key] = result.contains(key) ? result[key] : json(nullptr);
    if (!exit.exited_zero() || result.value("status", "") != "ok") {
        std::string why = result.contains("reason") && result["reason"].is_string()
                              ? result["reason"].get<std::string>()
                              : "";
        failures.push_back("rot13-load: " + (why.empty() ? exit.describe() : why));
    }
    fs::remove(load_json);  // it is in the results file now
}

// Step 5, the server's memory and CPU during the measured window. The window starts once
// the connections are up (rot13-load's ramp_up_s) and the warm-up is over, and lasts the
// measured duration_s, timed from rot13-load's start; its own start-up (a few ms) is the
// error. Without those figures: the last duration_s before rot13-load exited.
void window_figures(const load_phase& phase, const json& summary, const load_point& l, json& server_info) {
    double end = phase.wall_s, start = end - l.duration_s;
    if (summary.is_object() && summary.contains("ramp_up_s") && summary.contains("duration_s")) {
        start = summary["ramp_up_s"].get<double>() + l.warmup_s;
        end = std::min(phase.wall_s, start + summary["duration_s"].get<double>());
    }
    std::vector<long> rss;
    for (const auto& p : phase.points)
        if (p.t >= start - 0.01 && p.t <= end + 0.01) rss.push_back(p.sample.rss_kb);
    if (!rss.empty()) {
        std::nth_element(rss.begin(), rss.begin() + static_cast<std::ptrdiff_t>(rss.size() / 2), rss.end());
        long median = rss[rss.size() / 2];
        server_info["rss_kb"] = median;
        server_info["rss_per_conn_kb"] =
            static_cast<double>(median - server_info["rss_idle_kb"].get<long>()) /
            static_cast<double>(l.connections + l.idle);
    }
    auto cpu_start = cpu_at(phase.points, start), cpu_end = cpu_at(phase.points, end);
    if (cpu_start && cpu_end) {
        double total = cpu_end->total_s - cpu_start->total_s;
        server_info["cpu_measured_s"] = total;
        server_info["cpu_measured_user_s"] = cpu_end->user_s - cpu_start->user_s;
        server_info["cpu_measured_sys_s"] = cpu_end->sys_s - cpu_start->sys_s;
        double requests = summary.is_object() ? summary.value("requests", 0.0) : 0.0;
        if (requests > 0) server_info["cpu_us_per_line"] = total / requests * 1e6;
    }
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
    const fs::path load_log = logs / (name + ".load.log");
    const fs::path load_json = logs / (name + ".load.json");
    for (const auto& f : {server_log, load_log, load_json}) fs::remove(f);

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
    if (failures.empty()) {
        // The idle size, once a forking server's probe child has had a moment to exit.
        if (!pause_for(50ms)) return std::nullopt;
        server_info["rss_idle_kb"] = server.sample().rss_kb;
        std::vector<std::string> load_argv = load_command(run, opts, *ready.port, load_json);
        record["commands"]["load"] = load_argv;
        const bool load_remote = opts.hosts.load.has_value();
        // A remote generator is pinned on its host (taskset), not here.
        child_process load(spawn_options{load_argv, load_remote ? std::vector<int>{} : opts.pins.load_cpus,
                                         load_remote, true, load_log});
        if (!load.pin_error().empty()) notes.push_back("load generator not pinned: " + load.pin_error());
        phase = drive_load(server, load, run.load, server_log, load_json, load_remote);
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
    if (phase && phase->exit) {
        take_load_results(load_json, load_log, *phase->exit, record, failures);
        window_figures(*phase, record["summary"], run.load, server_info);
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
