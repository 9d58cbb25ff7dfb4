#include "harness/runner.hpp"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <fstream>
#include <sstream>

#include "common/signals.hpp"
#include "common/socket.hpp"
#include "harness/load_processes.hpp"
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
                   {"spin_us", l.rate || l.knee ? json(l.spin_us) : json(nullptr)},
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
std::optional<load_phase> drive_load(server_session& server, std::vector<load_process>& loads,
                                     const load_point& l, double lead_s, const fs::path& server_log) {
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

void window_figures(const load_phase& phase, const measured_window& w, const load_point& l,
                    json& server_info) {
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
        record["commands"]["load"] =
            run.load.generators.empty() ? json(load.commands.front()) : json(nullptr);
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
