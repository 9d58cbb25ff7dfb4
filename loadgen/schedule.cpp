// The open-loop schedule of a worker: each connection's intended send times, uniform or
// Poisson, kept in one min-heap per worker and driven by one timer.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "loadgen/connection.hpp"
#include "loadgen/worker.hpp"

namespace loadgen {

using boost::system::error_code;

// Queues every line of c that is due, up to the cap on lines in flight; a connection at
// the cap leaves the schedule until a reply frees a slot (complete_line), and its late
// lines keep their intended times, so the wait shows in the corrected latency.
void worker::run_schedule(connection& c, std::int64_t now) {
    while (c.next_intended <= now + schedule_slack_ns && c.next_intended < t_end_) {
        if (c.queued - c.done >= static_cast<std::uint64_t>(plan_.depth)) {
            c.blocked = true;
            return;
        }
        queue_line(c, c.next_intended);
        advance_schedule(c);
    }
    if (c.next_intended < t_end_ && !c.scheduled) {
        c.scheduled = true;
        schedule_.push_back({c.next_intended, &c});
        std::push_heap(schedule_.begin(), schedule_.end(), std::greater<>());
        arm_schedule_timer();
    }
}

void worker::advance_schedule(connection& c) {
    ++c.arrivals;
    if (plan_.opts->arrivals == arrival_process::uniform) {
        // From the start each time, not by adding intervals: no rounding drift.
        c.next_intended =
            t_start_ + std::llround((c.phase + static_cast<double>(c.arrivals)) * plan_.interval_ns);
    } else {
        c.next_intended +=
            std::max<std::int64_t>(1, std::llround(-std::log1p(-c.rng.next_double()) * plan_.interval_ns));
    }
}

// One timer per worker, set to the earliest due line of all its connections. On Linux an
// Asio steady_timer is a timerfd with microsecond resolution, not a 1 ms tick.
void worker::arm_schedule_timer() {
    if (schedule_.empty() || schedule_.front().when >= schedule_armed_for_) return;
    schedule_armed_for_ = schedule_.front().when;
    schedule_timer_.expires_at(to_time_point(schedule_armed_for_));
    schedule_timer_.async_wait([this](const error_code& ec) {
        if (!ec && phase_ == phase::running) on_schedule_timer();
    });
}

void worker::on_schedule_timer() {
    schedule_armed_for_ = INT64_MAX;
    run_due(now_ns());
    arm_schedule_timer();
}

// Sends every line that is due, on every connection. Called by the schedule timer, and
// after each read completion as well: a burst of replies takes tens of microseconds to
// handle, and a timer expiry queued behind it would wait that long.
void worker::run_due(std::int64_t now) {
    while (!schedule_.empty() && schedule_.front().when <= now + schedule_slack_ns) {
        std::pop_heap(schedule_.begin(), schedule_.end(), std::greater<>());
        connection& c = *schedule_.back().c;
        schedule_.pop_back();
        c.scheduled = false;
        // A connection that is down resumes its schedule when it is up again (begin_traffic).
        if (c.st == connection::state::open && c.traffic) {
            run_schedule(c, now);
            write_queued(c);
        }
    }
}
}  // namespace loadgen
