// The open-loop schedule of a worker: each connection's intended send times, uniform or
// Poisson, kept in one min-heap per worker and driven by two timers.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "loadgen/connection.hpp"
#include "loadgen/worker.hpp"

namespace loadgen {

using boost::system::error_code;

// Queues every line of c that is due, up to the cap on lines in flight; a connection at
// the cap leaves the schedule until a reply frees a slot (complete_line), and its late
// lines keep their intended times, so the wait shows in the corrected latency. The caller
// sets the timers afterwards (arm_schedule_timer): inside run_due() the heap may still hold
// lines that are due now, and a timer set for one of them would fire at once, for nothing.
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

// The schedule's timers. On Linux an Asio steady_timer is a timerfd with microsecond
// resolution, not a 1 ms tick, and every change of the earliest expiry in Asio's timer
// queue is a timerfd_settime() system call: one after each expiry, when Asio sets the
// timerfd for the next timer in its queue, and one more when the handler then sets a timer
// for the next line, earlier than anything else queued. With one timer that is two calls
// per line. With two, one is set for the earliest due line and the other ahead, for the
// next due time after it; when the first fires, Asio's own re-arm already targets the next
// line, and the handler's re-arm is of a timer later than that one, which changes nothing
// in the timerfd: one call per line.
//
// With --spin-us the timers are set that much earlier than the lines they are for, and once
// the earliest line is that close the worker stops sleeping: run_spinning() polls until it
// is due.
void worker::arm_schedule_timer() {
    spinning_ = false;
    if (schedule_.empty()) return;
    const std::int64_t lead = plan_.spin_ns;
    const std::int64_t first = schedule_.front().when - lead;
    if (lead > 0 && first <= now_ns()) {
        spinning_ = true;
        return;
    }
    // The next due time after the earliest is the earlier of the heap root's two children.
    std::int64_t second = INT64_MAX;
    for (std::size_t k = 1; k <= 2 && k < schedule_.size(); ++k)
        second = std::min(second, schedule_[k].when - lead);
    // A timer that fires at or before a line is due covers it: its handler sends the line or
    // sets a timer again. The earlier timer must cover the earliest line; a later line can
    // come before the earliest (a Poisson schedule), and then the later timer moves to it.
    int early = schedule_armed_for_[0] <= schedule_armed_for_[1] ? 0 : 1;
    if (schedule_armed_for_[early] > first + schedule_slack_ns) {
        early = 1 - early;
        arm_one_schedule_timer(early, first);
    }
    const int ahead = 1 - early;
    if (second != INT64_MAX && schedule_armed_for_[ahead] > second + schedule_slack_ns)
        arm_one_schedule_timer(ahead, std::max(second, schedule_armed_for_[early]));
}

void worker::arm_one_schedule_timer(int i, std::int64_t when) {
    schedule_armed_for_[i] = when;
    schedule_timers_[i].expires_at(to_time_point(when));  // cancels its wait for the old time
    schedule_timers_[i].async_wait([this, i](const error_code& ec) {
        if (!ec && phase_ == phase::running) on_schedule_timer(i);
    });
}

void worker::on_schedule_timer(int i) {
    schedule_armed_for_[i] = INT64_MAX;
    run_due(now_ns());
}

void worker::cancel_schedule_timers() {
    spinning_ = false;
    for (int i = 0; i < 2; ++i) {
        schedule_armed_for_[i] = INT64_MAX;
        schedule_timers_[i].cancel();
    }
}

// Sends every line that is due, on every connection, then sets the timers for the next.
// Called by the schedule timers, and after each read completion as well: a burst of
// replies takes tens of microseconds to handle, and a timer expiry queued behind it would
// wait that long.
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
    arm_schedule_timer();
}

// The event loop with --spin-us. While no line is close it blocks as Asio's run() does, one
// handler at a time; once one is (spinning_), it polls instead: each poll() is one
// epoll_wait() that does not sleep, runs whatever is ready, and the line goes out the first
// time round after it is due. The price is a CPU kept busy for the spin of every line: at a
// rate whose lines are closer together than the spin, all of it.
void worker::run_spinning() {
    while (!ctx_.stopped()) {
        if (!spinning_) {
            ctx_.run_one();
            continue;
        }
        ctx_.poll();
        if (!spinning_ || phase_ != phase::running || schedule_.empty()) continue;
        const std::int64_t now = now_ns();
        if (schedule_.front().when <= now + schedule_slack_ns) run_due(now);
    }
}
}  // namespace loadgen
