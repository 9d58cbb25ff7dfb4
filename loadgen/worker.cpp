// The life of a connection, as one worker thread drives it (steps 1-3 and 5 here; the
// open-loop schedule of step 2 in schedule.cpp; steps 4 and 6 in phases.cpp):
//
//   1. Ramp-up: connect (paced by --connect-rate, or at most max_concurrent_connects at a
//      time), time the connect into the connect histogram, set TCP_NODELAY. Idle
//      connections then only watch for the server closing them.
//   2. Traffic: closed loop queues --depth lines at once and one more for each line
//      answered; open loop queues each line at its intended time from the connection's
//      own schedule, up to --depth in flight. Queued lines leave in one write per run of
//      consecutive lines, straight from the payload tape (no copy, no per-connection
//      write buffer).
//   3. Replies: every received byte is compared with the expected reply tape; a line is
//      complete when its whole reply has arrived, and its latency is recorded from the
//      intended send time (corrected) and from the actual send time (uncorrected).
//   4. Timeouts: a periodic tick fails a connection whose oldest line has waited longer
//      than --timeout, and a connect that takes longer.
//   5. Errors: a failed connection is counted by class and closed; an active one
//      reconnects after a back-off (50 ms doubling to 1 s) while the run goes on.
//   6. End: at the end of the window no new lines are queued; lines in flight may still
//      complete until they are all answered or the drain deadline passes; what is left is
//      counted as unfinished, and every socket is closed.
#include "loadgen/worker.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

#include "common/protocol.hpp"
#include "loadgen/connection.hpp"
#include "loadgen/platform.hpp"
#include "loadgen/replies.hpp"

namespace loadgen {

namespace {

using boost::system::error_code;
constexpr int max_concurrent_connects = 64;  // per worker, without --connect-rate
constexpr std::size_t max_write_bytes = 256 * 1024;
}  // namespace

std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void error_counts::add(const error_counts& o) noexcept {
    connect += o.connect;
    refused += o.refused;
    reset += o.reset;
    closed += o.closed;
    timeout += o.timeout;
    mismatch += o.mismatch;
    short_reply += o.short_reply;
    other += o.other;
}

worker::worker(const plan& p, int threads, std::vector<std::uint32_t> active_ids,
               std::vector<std::uint32_t> idle_ids)
    : plan_(p),
      ctx_(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO),
      guard_(asio::make_work_guard(ctx_)),
      schedule_timers_{timer_type(ctx_.get_executor()), timer_type(ctx_.get_executor())},
      clock_timer_(ctx_.get_executor()),
      tick_timer_(ctx_.get_executor()),
      connect_timer_(ctx_.get_executor()),
      reconnect_timer_(ctx_.get_executor()) {
    const std::size_t tape_lines = plan_.lines->lines();
    for (std::uint32_t id : active_ids) {
        connection& c = connections_.emplace_back(ctx_, id, false);
        splitmix64 mix(plan_.opts->seed ^ (0x5bd1e995ull * (id + 1)));
        c.first_line = static_cast<std::size_t>(mix.next() % tape_lines);
        c.rng = splitmix64(mix.next());
        c.phase = plan_.active_total > 0 ? static_cast<double>(id) / plan_.active_total : 0;
        c.ring.resize(std::bit_ceil(static_cast<std::uint64_t>(plan_.open_loop ? 4 : plan_.depth)));
    }
    for (std::uint32_t id : idle_ids) connections_.emplace_back(ctx_, id, true);
    for (connection& c : connections_) ramp_order_.push_back(&c);
    result_.threads = threads;
}

worker::~worker() = default;

void worker::run() {
    ramp_started_ = now_ns();
    ramp_unresolved_ = static_cast<int>(ramp_order_.size());
    next_connect_at_ = ramp_started_;
    if (ramp_unresolved_ == 0) {
        ramp_finished_ = ramp_started_;
        phase_ = phase::ready;
        ramp_done_.store(true, std::memory_order_release);
    }
    connect_more();
    arm_tick_timer();
    try {
        if (plan_.spin_ns > 0)
            run_spinning();
        else
            ctx_.run();
    } catch (const std::exception& e) {
        result_.fatal = e.what();
    }
    finished_.store(true, std::memory_order_release);
}

void worker::start_traffic(std::int64_t start, std::int64_t measure, std::int64_t end) {
    asio::post(ctx_, [this, start, measure, end] { on_start(start, measure, end); });
}

void worker::stop(std::int64_t when) {
    asio::post(ctx_, [this, when] { on_stop(when); });
}

std::vector<interval_sample> worker::take_intervals() {
    std::lock_guard lock(intervals_mutex_);
    return std::exchange(intervals_, {});
}

// ---- 1. Ramp-up --------------------------------------------------------------------------

void worker::connect_more() {
    while (next_ramp_ < ramp_order_.size() &&
           (phase_ == phase::ramping || phase_ == phase::ready || phase_ == phase::running)) {
        if (plan_.connect_interval_ns > 0) {
            std::int64_t now = now_ns();
            if (now < next_connect_at_) {
                if (!connect_timer_armed_) {
                    connect_timer_armed_ = true;
                    connect_timer_.expires_at(to_time_point(next_connect_at_));
                    connect_timer_.async_wait([this](const error_code& ec) {
                        connect_timer_armed_ = false;
                        if (!ec && phase_ != phase::finished) connect_more();
                    });
                }
                return;
            }
            // Keep to the rate on average, without a burst after a late wake-up.
            next_connect_at_ =
                std::max(next_connect_at_ + static_cast<std::int64_t>(plan_.connect_interval_ns),
                         now - one_second_ns / 100);
        } else if (connecting_ >= max_concurrent_connects) {
            return;  // on_connected() calls back as connects finish
        }
        connect(*ramp_order_[next_ramp_++]);
    }
}

void worker::connect(connection& c) {
    error_code ec;
    c.socket.open(plan_.target.protocol(), ec);
    if (!ec && !plan_.opts->source_addresses.empty()) {
        const auto& sources = plan_.opts->source_addresses;
        // Defer the choice of local port to connect(), so that each source address has
        // the whole ephemeral range per destination rather than per address.
        defer_local_port(c.socket.native_handle());
        c.socket.bind(tcp::endpoint(sources[c.id % sources.size()], 0), ec);
    }
    c.st = connection::state::connecting;
    ++connecting_;
    c.connect_started = now_ns();
    if (ec) {
        fail(c, failure::connect);
        return;
    }
    c.socket.async_connect(plan_.target, [this, cp = &c, gen = c.generation](const error_code& e) {
        if (gen == cp->generation) on_connected(*cp, e);
    });
}

void worker::on_connected(connection& c, const error_code& ec) {
    if (ec) {
        fail(c, ec == asio::error::connection_refused ? failure::refused : failure::connect);
        connect_more();
        return;
    }
    --connecting_;
    std::int64_t now = now_ns();
    result_.connect.record(now - c.connect_started);
    c.st = connection::state::open;
    error_code ignored;
    c.socket.set_option(tcp::no_delay(true), ignored);  // lines are small: never wait for Nagle
    c.socket.non_blocking(true, ignored);               // write_queued() sends without blocking
    if (c.first_connect) {
        c.first_connect = false;
        resolve_ramp_one();
    }
    if (c.idle) {
        watch_idle(c);
    } else if (phase_ == phase::running) {
        begin_traffic(c);
    }
    connect_more();
}

void worker::resolve_ramp_one() {
    if (--ramp_unresolved_ == 0) {
        ramp_finished_ = now_ns();
        int up = 0;
        for (const connection& c : connections_) up += !c.idle && c.st == connection::state::open;
        up_after_ramp_.store(up, std::memory_order_relaxed);
        if (phase_ == phase::ramping) phase_ = phase::ready;
        ramp_done_.store(true, std::memory_order_release);
    }
}

// An idle connection sends nothing; it only notices the server closing it (a server at
// its connection cap, for example) or, against the protocol, sending something.
void worker::watch_idle(connection& c) {
    c.socket.async_wait(socket_type::wait_read, [this, cp = &c, gen = c.generation](const error_code& ec) {
        if (gen != cp->generation) return;
        if (ec) {
            fail_io(*cp, ec);
            return;
        }
        char byte;
        error_code read_ec;
        cp->socket.non_blocking(true, read_ec);
        std::size_t n = cp->socket.read_some(asio::buffer(&byte, 1), read_ec);
        if (read_ec == asio::error::would_block) {
            watch_idle(*cp);
        } else if (read_ec) {
            fail_io(*cp, read_ec);
        } else if (n > 0) {
            if (result_.mismatches.size() < max_mismatch_examples)
                result_.mismatches.push_back(
                    {cp->id, 0, 0, "(nothing: idle connection)", escape_bytes(&byte, 1)});
            fail(*cp, failure::mismatch);
        }
    });
}
// ---- 2. Traffic --------------------------------------------------------------------------

void worker::begin_traffic(connection& c) {
    c.traffic = true;
    c.buffer = take_buffer();
    start_read(c);
    std::int64_t now = now_ns();
    if (!plan_.open_loop) {
        if (now < t_end_)
            for (int i = 0; i < plan_.depth; ++i) queue_line(c, now);
    } else {
        run_schedule(c, now);
        arm_schedule_timer();
    }
    write_queued(c);
}

void worker::queue_line(connection& c, std::int64_t intended) {
    c.reserve_lines(c.queued - c.done + 1);
    c.slot(c.queued) = {intended, 0};
    ++c.queued;
    ++in_flight_;
}

// Sends the queued lines that follow each other on the payload tape in one write; lines
// that fell behind their schedule go out together, each keeping its own intended time
// (the ring), so coordinated omission stays corrected. The actual send time of each is
// the moment the write starts. The write is tried at once, without blocking: a line is
// small and the socket's buffer nearly always has room, so the line is sent by this one
// send() and no completion handler has to pass through Asio's queue (each such pass costs
// the worker another epoll_wait). Only what does not fit waits for the socket, as an
// asynchronous write.
void worker::write_queued(connection& c) {
    const payload& pl = *plan_.lines;
    while (!c.writing && c.written < c.queued && c.st == connection::state::open) {
        std::size_t first = (c.first_line + c.written) % pl.lines();
        std::uint64_t n = std::min<std::uint64_t>(c.queued - c.written, pl.lines() - first);
        n = std::min<std::uint64_t>(n, std::max<std::size_t>(1, max_write_bytes / pl.line_stride()));
        std::int64_t now = now_ns();
        for (std::uint64_t k = c.written; k < c.written + n; ++k) c.slot(k).actual = now;
        c.written += n;
        const char* data = pl.line(first);
        const std::size_t bytes = n * pl.line_stride();
        error_code ec;
        std::size_t sent = c.socket.write_some(asio::buffer(data, bytes), ec);
        if (ec == asio::error::would_block) {
            sent = 0;
        } else if (ec) {
            fail_io(c, ec);
            return;
        }
        if (measuring_) result_.bytes_sent += sent;
        if (sent < bytes) write_rest(c, data + sent, bytes - sent);
    }
}

void worker::write_rest(connection& c, const char* data, std::size_t bytes) {
    c.writing = true;
    asio::async_write(c.socket, asio::buffer(data, bytes),
                      [this, cp = &c, gen = c.generation](const error_code& ec, std::size_t sent) {
                          if (gen != cp->generation) return;
                          cp->writing = false;
                          if (ec) {
                              fail_io(*cp, ec);
                              return;
                          }
                          if (measuring_) result_.bytes_sent += sent;
                          write_queued(*cp);
                      });
}
// ---- 3. Replies --------------------------------------------------------------------------

void worker::start_read(connection& c) {
    c.socket.async_read_some(asio::buffer(c.buffer, plan_.read_buffer_size),
                             [this, cp = &c, gen = c.generation](const error_code& ec, std::size_t n) {
                                 if (gen != cp->generation) return;
                                 if (ec) {
                                     fail_io(*cp, ec);
                                     return;
                                 }
                                 on_read(*cp, n);
                             });
}

void worker::on_read(connection& c, std::size_t n) {
    std::int64_t now = now_ns();
    if (measuring_) result_.bytes_received += n;
    if (!verify_and_complete(c, c.buffer, n, now)) return;  // the connection failed
    write_queued(c);
    // Asio tries a read at once when one is started (a "speculative" recv()). Started right
    // after the send above, it finds nothing and costs a system call that returns EAGAIN.
    // With lines in flight (the closed loop, a busy open loop) the read is posted behind
    // the handlers already queued: it usually runs after the server has answered, and the
    // one recv() then returns the reply. With none in flight (an open loop between lines)
    // no reply can be there however long the read waits, and posting it would only cost
    // the worker one more pass through Asio's queue, and one more epoll_wait.
    if (c.done < c.written) {
        asio::post(ctx_, [this, cp = &c, gen = c.generation] {
            if (gen == cp->generation && cp->st == connection::state::open) start_read(*cp);
        });
    } else {
        start_read(c);
    }
    if (!schedule_.empty() && schedule_.front().when <= now + schedule_slack_ns) {
        run_due(now_ns());
    }
    if (phase_ == phase::draining) maybe_finish_drain();
}

// Checks the received bytes against the expected replies (replies.cpp) and completes every
// line whose reply is now whole. Returns false if the connection failed.
bool worker::verify_and_complete(connection& c, const char* data, std::size_t n, std::int64_t now) {
    reply_cursor cursor{c.first_line, c.done, c.written, c.reply_pos};
    const std::uint64_t answered = c.answered;
    reply_check check = check_replies(*plan_.lines, cursor, data, n);
    c.reply_pos = cursor.reply_pos;
    for (std::uint64_t i = 0; i < check.completed; ++i) complete_line(c, now);  // moves c.done
    if (!check.mismatch) return true;
    if (result_.mismatches.size() < max_mismatch_examples)
        result_.mismatches.push_back({c.id, answered + check.reply, check.offset, std::move(check.expected),
                                      std::move(check.received)});
    fail(c, failure::mismatch);
    return false;
}

void worker::complete_line(connection& c, std::int64_t now) {
    const connection::line_times times = c.slot(c.done);
    ++c.done;
    ++c.answered;
    --in_flight_;
    c.backoff_ns = 0;
    live_completions_.store(live_completions_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    // A line belongs to the window by its intended send time, so that a stall at the end
    // of the window still shows in the figures of the lines it delayed.
    if (times.intended >= t_measure_ && times.intended < t_end_) {
        // Into this second's histograms only; flush_interval() adds them to the totals
        // once a second (an exact merge), which halves the cost of recording.
        interval_corrected_.record(now - times.intended);
        interval_uncorrected_.record(now - times.actual);
        result_.send_lag.record(times.actual - times.intended);
        ++result_.requests;
        ++interval_requests_;
    }
    if (!plan_.open_loop) {
        if (phase_ == phase::running && now < t_end_) queue_line(c, now);
    } else if (c.blocked) {
        c.blocked = false;
        run_schedule(c, now);
        arm_schedule_timer();
    }
}
// ---- 5. Errors ---------------------------------------------------------------------------

void worker::fail_io(connection& c, const error_code& ec) {
    if (ec == asio::error::operation_aborted) return;
    if (ec == asio::error::eof)
        fail(c, c.reply_pos > 0 ? failure::short_reply : failure::closed);
    else if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe)
        fail(c, failure::reset);
    else
        fail(c, failure::other);
}

void worker::fail(connection& c, failure why) {
    error_counts& e = result_.errors;
    // One counter per class, in the order of enum failure.
    std::uint64_t* const counters[] = {&e.connect, &e.refused,  &e.reset,       &e.closed,
                                       &e.timeout, &e.mismatch, &e.short_reply, &e.other};
    ++*counters[static_cast<int>(why)];
    if (measuring_) ++interval_errors_;
    live_errors_.store(e.total(), std::memory_order_relaxed);
    bool was_connecting = c.st == connection::state::connecting;
    close(c);
    if (was_connecting) --connecting_;
    if (c.first_connect) {
        c.first_connect = false;
        resolve_ramp_one();
    }
    if (!c.idle && phase_ == phase::running) schedule_reconnect(c);
    if (phase_ == phase::draining) maybe_finish_drain();
}

void worker::close(connection& c) {
    ++c.generation;
    error_code ignored;
    c.socket.close(ignored);  // cancels its operations: their handlers see a new generation
    c.st = connection::state::closed;
    in_flight_ -= static_cast<std::int64_t>(c.queued - c.done);
    c.queued = c.written = c.done = 0;
    c.reply_pos = 0;
    c.writing = c.traffic = c.blocked = false;
    if (c.buffer) give_buffer(std::exchange(c.buffer, nullptr));
}

void worker::schedule_reconnect(connection& c) {
    c.backoff_ns = c.backoff_ns ? std::min(2 * c.backoff_ns, one_second_ns) : one_second_ns / 20;
    reconnects_.push_back({now_ns() + c.backoff_ns, &c});
    std::push_heap(reconnects_.begin(), reconnects_.end(), std::greater<>());
    arm_reconnect_timer();
}

void worker::arm_reconnect_timer() {
    if (reconnects_.empty() || reconnects_.front().when >= reconnect_armed_for_) return;
    reconnect_armed_for_ = reconnects_.front().when;
    reconnect_timer_.expires_at(to_time_point(reconnect_armed_for_));
    reconnect_timer_.async_wait([this](const error_code& ec) {
        if (ec || phase_ != phase::running) return;
        reconnect_armed_for_ = INT64_MAX;
        std::int64_t now = now_ns();
        while (!reconnects_.empty() && reconnects_.front().when <= now) {
            std::pop_heap(reconnects_.begin(), reconnects_.end(), std::greater<>());
            connection& c = *reconnects_.back().c;
            reconnects_.pop_back();
            if (c.st == connection::state::closed) connect(c);
        }
        arm_reconnect_timer();
    });
}
// ---- Buffers -----------------------------------------------------------------------------

char* worker::take_buffer() {
    if (free_buffers_.empty()) {
        buffer_storage_.emplace_back(new char[plan_.read_buffer_size]);
        return buffer_storage_.back().get();
    }
    char* b = free_buffers_.back();
    free_buffers_.pop_back();
    return b;
}

void worker::give_buffer(char* b) {
    free_buffers_.push_back(b);
}

}  // namespace loadgen
