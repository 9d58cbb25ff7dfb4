// run_load(): the control thread. It builds the plan, starts one worker thread per event
// loop, waits for their ramp-ups, gives every worker the same start, window and end
// times, prints progress, forwards SIGINT/SIGTERM, and merges what the workers measured.
#include "loadgen/engine.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <memory>
#include <stdexcept>
#include <thread>

#include "loadgen/platform.hpp"
#include "loadgen/timeseries.hpp"
#include "loadgen/worker.hpp"

namespace loadgen {
namespace {

using boost::system::error_code;

tcp::endpoint resolve(const options& opts) {
    asio::io_context ctx;
    tcp::resolver resolver(ctx);
    error_code ec;
    auto results = resolver.resolve(opts.host, std::to_string(opts.port), ec);
    if (ec || results.empty())
        throw std::runtime_error("cannot resolve " + opts.host + ": " + (ec ? ec.message() : "no address"));
    // With --source the target must be of the source addresses' family.
    if (opts.source_addresses.empty()) return results.begin()->endpoint();
    const bool v4 = opts.source_addresses.front().is_v4();
    for (const auto& entry : results)
        if (entry.endpoint().address().is_v4() == v4) return entry.endpoint();
    throw std::runtime_error(std::string("--source gives ") + (v4 ? "IPv4" : "IPv6") + " addresses, but " +
                             opts.host + " has no " + (v4 ? "IPv4" : "IPv6") + " address");
}

// The wall-clock time (seconds since the Unix epoch) of a steady-clock time, and back.
// The two clocks are read together; the steady one times the run, the wall one says when
// it happened, so that runs on several hosts can be lined up.
double epoch_of(std::int64_t steady_ns) {
    auto wall = std::chrono::system_clock::now() - std::chrono::nanoseconds(now_ns() - steady_ns);
    return std::chrono::duration<double>(wall.time_since_epoch()).count();
}
std::int64_t steady_of(double epoch_s) {
    double now_s = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    return now_ns() + static_cast<std::int64_t>((epoch_s - now_s) * 1e9);
}

}  // namespace

run_result run_load(const options& opts, const progress_fn& progress) {
    ignore_sigpipe();  // a write to a reset connection must be an error code, not death
    raise_open_file_limit();

    const payload lines(opts.size, opts.seed);
    plan p;
    p.opts = &opts;
    p.lines = &lines;
    p.target = resolve(opts);
    p.open_loop = opts.open_loop();
    p.depth = opts.effective_depth();
    p.active_total = opts.connections;
    p.interval_ns = p.open_loop ? 1e9 * opts.connections / opts.rate : 0;
    p.spin_ns = static_cast<std::int64_t>(opts.spin_us * 1e3);
    p.timeout_ns = static_cast<std::int64_t>(opts.timeout_s * 1e9);
    // Room for every reply in flight, within 4 KiB .. 64 KiB.
    p.read_buffer_size = std::clamp<std::size_t>(
        lines.reply_stride() * static_cast<std::size_t>(p.open_loop ? 16 : p.depth), 4096, 65536);

    int total = opts.connections + opts.idle;
    int threads = std::min(opts.threads > 0 ? opts.threads : allowed_cpus(), total);
    p.connect_interval_ns = opts.connect_rate > 0 ? 1e9 * threads / opts.connect_rate : 0;

    // Connection i goes to worker i mod threads, active and idle ones alike.
    std::vector<std::vector<std::uint32_t>> active(static_cast<std::size_t>(threads)), idle(active.size());
    for (int i = 0; i < opts.connections; ++i)
        active[static_cast<std::size_t>(i % threads)].push_back(static_cast<std::uint32_t>(i));
    for (int i = 0; i < opts.idle; ++i)
        idle[static_cast<std::size_t>(i % threads)].push_back(
            static_cast<std::uint32_t>(opts.connections + i));

    run_result result;
    result.threads = threads;
    result.baseline_rss_kb = peak_rss_kb();

    std::vector<std::unique_ptr<worker>> workers;
    for (std::size_t t = 0; t < active.size(); ++t)
        workers.push_back(std::make_unique<worker>(p, threads, std::move(active[t]), std::move(idle[t])));
    std::vector<std::thread> threads_running;
    for (auto& w : workers) threads_running.emplace_back([&w] { w->run(); });

    // The control loop: a few timers and the signals on the main thread's own io_context.
    asio::io_context control;
    asio::signal_set signals(control, SIGINT, SIGTERM);
    asio::steady_timer poll(control), ticker(control);
    // ramping: connections opening; waiting: all up, until --start-at (or a moment);
    // running: traffic, from the warm-up to the drain; done: every worker finished.
    enum class stage { ramping, waiting, running, done } st = stage::ramping;
    std::int64_t t_start = 0, t_measure = 0, t_end = 0, stopped_at = INT64_MAX;
    std::int64_t wanted_start = 0;                        // when traffic is to begin
    const std::int64_t start_lead = one_second_ns / 500;  // workers get the start this early
    cpu_times window_start{}, window_end{};
    bool window_started = false;
    std::uint64_t last_completions = 0;
    timeseries_collector seconds(workers.size(), opts.hdr_log_path);
    auto collect_seconds = [&] {
        for (std::size_t i = 0; i < workers.size(); ++i) seconds.add(i, workers[i]->take_intervals());
        seconds.complete_ready(result.start_epoch_s);
    };

    auto all = [&](auto pred) {
        return std::all_of(workers.begin(), workers.end(), [&](auto& w) { return pred(*w); });
    };
    auto stop_workers = [&](std::int64_t when) {
        for (auto& w : workers) w->stop(when);
    };

    signals.async_wait([&](const error_code& ec, int sig) {
        if (ec) return;
        result.interrupted_by = sig == SIGINT ? "SIGINT" : "SIGTERM";
        stopped_at = now_ns();
        stop_workers(stopped_at);
    });

    std::function<void()> on_poll = [&] {
        std::int64_t now = now_ns();
        if (st == stage::ramping && all([](worker& w) { return w.ramp_done(); })) {
            st = stage::waiting;
            int up = 0;
            for (auto& w : workers) up += w->active_up_after_ramp();
            if (up == 0 && stopped_at == INT64_MAX) {
                // Not one connection: there is nothing to measure, and waiting out the
                // duration would only retry connects that keep failing.
                result.fatal = "no connection to " + opts.host + ":" + std::to_string(opts.port) +
                               " could be established";
                stopped_at = now;
                stop_workers(now);
            }
            // With --start-at, traffic is to begin at that wall-clock time; otherwise at once
            // (in a moment, so that the workers receive the start before it).
            wanted_start = opts.start_at_epoch_s > 0 ? steady_of(opts.start_at_epoch_s) : now + start_lead;
        }
        if (st == stage::waiting && (stopped_at != INT64_MAX || now >= wanted_start - start_lead)) {
            st = stage::running;
            // Every worker gets the same times; the start leaves them a moment to receive
            // it. A ramp-up that took longer than --start-at allowed, or a late wake-up,
            // moves the start (and so the window) later: start_late_s says by how much.
            t_start = std::max(wanted_start, now + start_lead / 4);
            if (opts.start_at_epoch_s > 0)
                result.start_late_s = static_cast<double>(t_start - wanted_start) / 1e9;
            t_measure = t_start + static_cast<std::int64_t>(opts.warmup_s * 1e9);
            t_end = t_measure + static_cast<std::int64_t>(opts.duration_s * 1e9);
            if (stopped_at == INT64_MAX) {
                result.traffic_start_epoch_s = epoch_of(t_start);
                for (auto& w : workers) w->start_traffic(t_start, t_measure, t_end);
            }
        }
        if (st == stage::running && !window_started && now >= t_measure) {
            window_started = true;
            window_start = process_cpu_times();
            result.start_epoch_s = epoch_of(t_measure);
        }
        if (all([](worker& w) { return w.finished(); })) {
            st = stage::done;
            window_end = process_cpu_times();
            signals.cancel();
            ticker.cancel();
            return;
        }
        // Every 5 ms; while waiting for the start, wake up for it exactly.
        std::int64_t sleep_ns = one_second_ns / 200;
        if (st == stage::waiting)
            sleep_ns = std::clamp<std::int64_t>(wanted_start - start_lead - now, 0, sleep_ns);
        poll.expires_after(std::chrono::nanoseconds(sleep_ns));
        poll.async_wait([&](const error_code& ec) {
            if (!ec) on_poll();
        });
    };
    on_poll();

    std::function<void()> on_tick = [&] {
        if (st == stage::done) return;
        collect_seconds();  // once a second: merged, logged, and their histograms dropped
        if (progress && st == stage::running && now_ns() >= t_start) {
            std::uint64_t completions = 0, errors = 0;
            for (auto& w : workers) {
                completions += w->live_completions();
                errors += w->live_errors();
            }
            std::int64_t now = now_ns();
            progress({static_cast<double>(now - t_start) / 1e9, now >= t_measure,
                      static_cast<double>(completions - last_completions), seconds.last_p99(), errors});
            last_completions = completions;
        } else if (progress && st == stage::waiting) {
            progress({static_cast<double>(now_ns() - wanted_start) / 1e9, false, 0, 0, 0});  // a countdown
        }
        ticker.expires_after(std::chrono::seconds(1));
        ticker.async_wait([&](const error_code& ec) {
            if (!ec) on_tick();
        });
    };
    ticker.expires_after(std::chrono::seconds(1));
    ticker.async_wait([&](const error_code& ec) {
        if (!ec) on_tick();
    });

    control.run();
    for (auto& t : threads_running) t.join();

    // Merge every worker's figures. Histograms add exactly; so do counters.
    std::int64_t ramp_first = INT64_MAX, ramp_last = 0;
    for (auto& w : workers) {
        const run_result& r = w->result();
        result.corrected.merge(r.corrected);
        result.uncorrected.merge(r.uncorrected);
        result.connect.merge(r.connect);
        result.send_lag.merge(r.send_lag);
        result.requests += r.requests;
        result.bytes_sent += r.bytes_sent;
        result.bytes_received += r.bytes_received;
        result.unfinished += r.unfinished;
        result.starved_connections += r.starved_connections;
        result.errors.add(r.errors);
        result.connections_established += r.connections_established;
        result.idle_established += r.idle_established;
        for (const auto& m : r.mismatches)
            if (result.mismatches.size() < max_mismatch_examples) result.mismatches.push_back(m);
        if (!r.fatal.empty() && result.fatal.empty()) result.fatal = r.fatal;
        ramp_first = std::min(ramp_first, w->ramp_started());
        ramp_last = std::max(ramp_last, w->ramp_finished());
    }
    collect_seconds();
    result.timeseries = seconds.finish(result.start_epoch_s);
    if (!seconds.log_error().empty() && result.fatal.empty()) result.fatal = seconds.log_error();
    result.ramp_up_s = ramp_last > ramp_first ? static_cast<double>(ramp_last - ramp_first) / 1e9 : 0;
    if (t_end > 0) {
        std::int64_t end = std::min(t_end, stopped_at);
        result.measured_s = std::max<double>(0, static_cast<double>(end - t_measure) / 1e9);
    }
    if (window_started) {
        result.window_cpu_user_s = window_end.user - window_start.user;
        result.window_cpu_sys_s = window_end.sys - window_start.sys;
    }
    return result;
}

}  // namespace loadgen
