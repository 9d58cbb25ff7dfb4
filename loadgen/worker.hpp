// One event-loop thread of the load engine and the connections it owns.
//
// A worker owns a Boost.Asio io_context that only its own thread runs, created with the
// concurrency hint that turns off the reactor's per-socket locking; its connections,
// histograms and counters are touched by no other thread, so a request costs no lock and
// no atomic read-modify-write. The control thread talks to a worker only by posting to its
// io_context (whose scheduler stays thread-safe) and by reading a few relaxed atomics.
#pragma once

// clang-format off
#include <utility>  // before Boost.Asio: Boost 1.74's headers use std::exchange without it (C++20)
#include <boost/asio.hpp>
// clang-format on

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <vector>

#include "loadgen/engine.hpp"
#include "loadgen/payload.hpp"

namespace loadgen {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
// Sockets and timers bound to the concrete io_context executor: smaller than the default
// type-erased any_io_executor, and no indirect call per operation.
using socket_type = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;
using timer_type =
    asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>,
                               asio::io_context::executor_type>;

// Nanoseconds on the steady clock: every timestamp in the engine is one of these.
std::int64_t now_ns() noexcept;
inline std::chrono::steady_clock::time_point to_time_point(std::int64_t ns) {
    return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(ns));
}
inline constexpr std::int64_t one_second_ns = 1'000'000'000;
// A line due within this much of now is sent now (timers may wake a microsecond early).
inline constexpr std::int64_t schedule_slack_ns = 2'000;

// What every worker needs to know, fixed before the threads start and read-only after.
struct plan {
    const options* opts = nullptr;
    const payload* lines = nullptr;
    tcp::endpoint target;
    int depth = 1;  // closed: lines kept in flight; open: cap on lines in flight
    bool open_loop = false;
    double interval_ns = 0;  // open loop: mean time between one connection's lines
    std::int64_t spin_ns = 0;  // open loop: poll, not sleep, this long before a due line
    int active_total = 0;    // active connections over all workers
    std::size_t read_buffer_size = 4096;
    std::int64_t timeout_ns = 0;
    double connect_interval_ns = 0;  // per worker; 0: no ramp-up pacing
};

struct connection;

class worker {
public:
    worker(const plan& p, int threads, std::vector<std::uint32_t> active_ids,
           std::vector<std::uint32_t> idle_ids);
    ~worker();
    worker(const worker&) = delete;
    worker& operator=(const worker&) = delete;

    // The thread body: ramps the connections up, then serves traffic once started, and
    // returns when the run is over for this worker.
    void run();

    // From the control thread.
    void start_traffic(std::int64_t start, std::int64_t measure, std::int64_t end);
    void stop(std::int64_t when);  // end the window early (a signal): drain, then finish
    bool ramp_done() const noexcept { return ramp_done_.load(std::memory_order_acquire); }
    bool finished() const noexcept { return finished_.load(std::memory_order_acquire); }
    // Active connections that were up when ramp-up ended (valid once ramp_done()).
    int active_up_after_ramp() const noexcept { return up_after_ramp_.load(std::memory_order_acquire); }
    std::uint64_t live_completions() const noexcept {
        return live_completions_.load(std::memory_order_relaxed);
    }
    std::uint64_t live_errors() const noexcept { return live_errors_.load(std::memory_order_relaxed); }
    // Hands over the seconds of the window this worker has completed since the last call.
    std::vector<interval_sample> take_intervals();

    // After run() returned.
    const run_result& result() const noexcept { return result_; }
    std::int64_t ramp_started() const noexcept { return ramp_started_; }
    std::int64_t ramp_finished() const noexcept { return ramp_finished_; }

private:
    friend struct connection;
    enum class phase { ramping, ready, running, draining, finished };

    // Ramp-up (lifecycle step 1).
    void connect_more();
    void connect(connection& c);
    void on_connected(connection& c, const boost::system::error_code& ec);
    void resolve_ramp_one();
    // Traffic (steps 2-4).
    void begin_traffic(connection& c);
    void queue_line(connection& c, std::int64_t intended);
    void write_queued(connection& c);
    void write_rest(connection& c, const char* data, std::size_t bytes);
    void start_read(connection& c);
    void on_read(connection& c, std::size_t n);
    bool verify_and_complete(connection& c, const char* data, std::size_t n, std::int64_t now);
    void complete_line(connection& c, std::int64_t now);
    void watch_idle(connection& c);
    // Open-loop schedule.
    void run_schedule(connection& c, std::int64_t now);
    void advance_schedule(connection& c);
    void arm_schedule_timer();
    void arm_one_schedule_timer(int i, std::int64_t when);
    void on_schedule_timer(int i);
    void cancel_schedule_timers();
    void run_due(std::int64_t now);
    void run_spinning();
    // Errors (step 5).
    enum class failure { connect, refused, reset, closed, timeout, mismatch, short_reply, other };
    void fail(connection& c, failure why);
    void fail_io(connection& c, const boost::system::error_code& ec);
    void close(connection& c);
    void schedule_reconnect(connection& c);
    void arm_reconnect_timer();
    // Phases and periodic work.
    void on_start(std::int64_t start, std::int64_t measure, std::int64_t end);
    void on_stop(std::int64_t when);
    void arm_clock_timer();
    void on_clock();
    void flush_interval(std::int64_t until);
    void arm_tick_timer();
    void on_tick();
    void maybe_finish_drain();
    void finish();
    char* take_buffer();
    void give_buffer(char* b);

    const plan& plan_;
    asio::io_context ctx_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_;
    // A list: connections never move (handlers hold pointers to them), and unlike a deque
    // it may be declared while connection is still incomplete (libc++ insists on that).
    std::list<connection> connections_;
    std::vector<connection*> ramp_order_;  // idle and active, in the order they connect

    // Two schedule timers, one set for the earliest due line and one set ahead for the next
    // (schedule.cpp says why two).
    timer_type schedule_timers_[2];
    std::int64_t schedule_armed_for_[2] = {INT64_MAX, INT64_MAX};
    bool spinning_ = false;  // --spin-us: the next line is close; run_spinning() polls for it
    timer_type clock_timer_;
    timer_type tick_timer_;
    timer_type connect_timer_;
    timer_type reconnect_timer_;
    bool connect_timer_armed_ = false;

    struct due {
        std::int64_t when;
        connection* c;
        bool operator>(const due& o) const noexcept { return when > o.when; }
    };
    std::vector<due> schedule_;    // min-heap on when (open loop)
    std::vector<due> reconnects_;  // min-heap on when
    std::int64_t reconnect_armed_for_ = INT64_MAX;

    std::vector<std::unique_ptr<char[]>> buffer_storage_;
    std::vector<char*> free_buffers_;

    phase phase_ = phase::ramping;
    std::size_t next_ramp_ = 0;
    int ramp_unresolved_ = 0;  // connections whose first connect has not finished yet
    int connecting_ = 0;
    std::int64_t ramp_started_ = 0;
    std::int64_t ramp_finished_ = 0;
    std::int64_t next_connect_at_ = 0;
    std::int64_t t_start_ = 0;
    std::int64_t t_measure_ = INT64_MAX;
    std::int64_t t_end_ = INT64_MAX;
    std::int64_t t_drain_deadline_ = INT64_MAX;
    std::int64_t interval_start_ = 0;  // current per-second interval
    std::int64_t in_flight_ = 0;       // lines queued and not yet answered, all connections
    bool measuring_ = false;

    run_result result_;
    histogram interval_corrected_;
    histogram interval_uncorrected_;
    std::uint64_t interval_requests_ = 0;
    std::uint64_t interval_errors_ = 0;
    std::vector<interval_sample> intervals_;  // completed seconds not yet taken
    std::mutex intervals_mutex_;              // taken once a second by this thread and by the control thread

    std::atomic<bool> ramp_done_{false};
    std::atomic<bool> finished_{false};
    std::atomic<int> up_after_ramp_{0};
    std::atomic<std::uint64_t> live_completions_{0};
    std::atomic<std::uint64_t> live_errors_{0};
};

}  // namespace loadgen
