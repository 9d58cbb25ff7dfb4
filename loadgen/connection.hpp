// One connection of a worker: its socket, its lines in flight and where it stands in
// the protocol. Only the worker thread that owns it touches it.
#pragma once

#include <bit>
#include <cstdint>
#include <vector>

#include "loadgen/payload.hpp"
#include "loadgen/worker.hpp"

namespace loadgen {

// Everything one connection needs; about 200 bytes plus a ring of in-flight lines and a
// pooled read buffer while it carries traffic. Idle connections have neither.
struct connection {
    connection(asio::io_context& ctx, std::uint32_t id_, bool idle_)
        : socket(ctx.get_executor()), id(id_), idle(idle_) {}

    struct line_times {
        std::int64_t intended;
        std::int64_t actual;  // 0 until its write has started
    };
    enum class state : std::uint8_t { fresh, connecting, open, closed };

    socket_type socket;
    std::uint32_t id;
    bool idle;
    state st = state::fresh;
    bool first_connect = true;  // its first connect still counts towards ramp-up
    bool traffic = false;       // traffic has begun on the current socket
    bool writing = false;
    bool blocked = false;          // open loop: a due line waits for a free slot (--depth)
    bool scheduled = false;        // open loop: has an entry in the schedule heap
    std::uint32_t generation = 0;  // bumped on close: handlers of an older socket do nothing

    // Lines on the current socket: [done, written) are sent and unanswered, [written,
    // queued) wait for the socket. The ring holds the times of lines [done, queued).
    std::uint64_t queued = 0;
    std::uint64_t written = 0;
    std::uint64_t done = 0;
    std::uint64_t answered = 0;    // over all sockets (for error reports)
    std::size_t first_line = 0;    // payload line of this connection's first line
    std::size_t reply_pos = 0;     // bytes of the current reply received so far
    std::vector<line_times> ring;  // power-of-two size
    char* buffer = nullptr;

    std::int64_t connect_started = 0;
    std::int64_t backoff_ns = 0;

    // Open-loop schedule.
    std::int64_t next_intended = 0;
    std::uint64_t arrivals = 0;
    double phase = 0;  // uniform: offset of this connection's arrivals, in intervals
    splitmix64 rng{0};

    line_times& slot(std::uint64_t k) noexcept { return ring[k & (ring.size() - 1)]; }
    void reserve_lines(std::uint64_t n) {
        if (n <= ring.size()) return;
        std::vector<line_times> bigger(std::bit_ceil(n));
        for (std::uint64_t k = done; k < queued; ++k) bigger[k & (bigger.size() - 1)] = slot(k);
        ring.swap(bigger);
    }
};

}  // namespace loadgen
