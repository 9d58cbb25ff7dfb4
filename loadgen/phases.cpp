// The phases of a worker's run: traffic starts at the time the control thread gives, the
// measured window opens after the warm-up and is cut into seconds, a periodic tick fails
// what has timed out, and at the end the lines in flight drain before every socket closes.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "loadgen/connection.hpp"
#include "loadgen/worker.hpp"

namespace loadgen {

using boost::system::error_code;

void worker::on_start(std::int64_t start, std::int64_t measure, std::int64_t end) {
    if (phase_ == phase::finished) return;
    t_start_ = start;
    t_measure_ = measure;
    t_end_ = end;
    interval_start_ = measure;
    phase_ = phase::running;
    for (connection& c : connections_) {
        if (c.st != connection::state::open) continue;
        if (c.idle)
            ++result_.idle_established;
        else
            ++result_.connections_established;
    }
    for (connection& c : connections_) {
        if (c.idle) continue;
        if (plan_.open_loop) {
            if (plan_.opts->arrivals == arrival_process::uniform) {
                c.next_intended = t_start_ + std::llround(c.phase * plan_.interval_ns);
            } else {
                c.next_intended =
                    t_start_ + std::llround(-std::log1p(-c.rng.next_double()) * plan_.interval_ns);
            }
        }
        if (c.st == connection::state::open)
            begin_traffic(c);
        else if (c.st == connection::state::closed)
            connect(c);  // failed during ramp-up: try again
    }
    on_clock();
}

// ---- Phases and periodic work ------------------------------------------------------------

void worker::on_stop(std::int64_t when) {
    if (phase_ == phase::ramping || phase_ == phase::ready) {
        finish();
    } else if (phase_ == phase::running) {
        t_end_ = std::min(t_end_, when);
        on_clock();
    }
}

void worker::arm_clock_timer() {
    std::int64_t next = INT64_MAX;
    if (phase_ == phase::running) {
        next = t_end_;
        if (!measuring_ && t_measure_ < next) next = t_measure_;
        if (measuring_) next = std::min(next, interval_start_ + one_second_ns);
    } else if (phase_ == phase::draining) {
        next = t_drain_deadline_;
    }
    if (next == INT64_MAX) return;
    clock_timer_.expires_at(to_time_point(next));
    clock_timer_.async_wait([this](const error_code& ec) {
        if (!ec && phase_ != phase::finished) on_clock();
    });
}

void worker::on_clock() {
    std::int64_t now = now_ns();
    if (phase_ == phase::running) {
        if (!measuring_ && now >= t_measure_ && now < t_end_) measuring_ = true;
        // Whole seconds of the window; the last one (whole or not) is flushed by finish(),
        // after the lines still in flight at the end had their chance to complete.
        while (measuring_ && interval_start_ + one_second_ns <= now &&
               interval_start_ + one_second_ns < t_end_)
            flush_interval(interval_start_ + one_second_ns);
        if (now >= t_end_) {
            measuring_ = false;
            phase_ = phase::draining;
            // A connection whose oldest unanswered line was sent before the window opened
            // got no reply in the whole window. Count it now: during the drain the server
            // may still answer it (once another connection closes, say a pool's worker frees).
            for (connection& c : connections_)
                if (c.done < c.queued && c.slot(c.done).intended < t_measure_) ++result_.starved_connections;
            t_drain_deadline_ = now + std::min(plan_.timeout_ns, 2 * one_second_ns);
            for (due& d : schedule_) d.c->scheduled = false;
            schedule_.clear();
            cancel_schedule_timers();
            maybe_finish_drain();
            if (phase_ == phase::finished) return;
        }
    } else if (phase_ == phase::draining && now >= t_drain_deadline_) {
        finish();
        return;
    }
    arm_clock_timer();
}

void worker::flush_interval(std::int64_t until) {
    interval_sample s;
    s.t_s = static_cast<double>(interval_start_ - t_measure_) / 1e9;
    s.length_s = static_cast<double>(until - interval_start_) / 1e9;
    s.requests = interval_requests_;
    s.errors = interval_errors_;
    s.corrected = interval_corrected_;
    s.uncorrected = interval_uncorrected_;
    {
        std::lock_guard lock(intervals_mutex_);
        intervals_.push_back(std::move(s));
    }
    result_.corrected.merge(interval_corrected_);
    result_.uncorrected.merge(interval_uncorrected_);
    interval_corrected_.reset();
    interval_uncorrected_.reset();
    interval_requests_ = interval_errors_ = 0;
    interval_start_ = until;
}

void worker::arm_tick_timer() {
    std::int64_t period =
        std::clamp<std::int64_t>(plan_.timeout_ns / 4, one_second_ns / 100, one_second_ns / 4);
    tick_timer_.expires_after(std::chrono::nanoseconds(period));
    tick_timer_.async_wait([this](const error_code& ec) {
        if (!ec && phase_ != phase::finished) on_tick();
    });
}

void worker::on_tick() {
    std::int64_t now = now_ns();
    for (connection& c : connections_) {
        if (c.st == connection::state::connecting) {
            if (now - c.connect_started > plan_.timeout_ns) {
                fail(c, failure::connect);
                connect_more();
            }
        } else if (c.st == connection::state::open && c.queued > c.done) {
            const auto& oldest = c.slot(c.done);
            std::int64_t since = c.done < c.written ? oldest.actual : oldest.intended;
            if (now - since > plan_.timeout_ns) fail(c, failure::timeout);
        }
    }
    if (phase_ != phase::finished) arm_tick_timer();
}

void worker::maybe_finish_drain() {
    if (phase_ == phase::draining && in_flight_ == 0) finish();
}

void worker::finish() {
    if (phase_ == phase::finished) return;
    bool started = phase_ == phase::running || phase_ == phase::draining;
    for (connection& c : connections_) {
        for (std::uint64_t k = c.done; k < c.queued; ++k) {
            std::int64_t intended = c.slot(k).intended;
            if (intended >= t_measure_ && intended < t_end_) ++result_.unfinished;
        }
    }
    if (started && t_measure_ < t_end_ && interval_start_ < t_end_) flush_interval(t_end_);
    phase_ = phase::finished;
    measuring_ = false;
    for (connection& c : connections_) {
        if (c.st == connection::state::connecting) --connecting_;
        close(c);
    }
    schedule_.clear();
    reconnects_.clear();
    cancel_schedule_timers();
    for (timer_type* t : {&clock_timer_, &tick_timer_, &connect_timer_, &reconnect_timer_}) t->cancel();
    guard_.reset();  // run() returns once the cancelled handlers have run
    ramp_done_.store(true, std::memory_order_release);
}
}  // namespace loadgen
