// rot13-load-floor: the cheapest ROT13 client we know how to write, to find the floor
// under any load generator's costs on this kernel: its CPU time per line in a closed loop,
// and how close to their intended times its lines leave in an open loop.
//
// rot13-load's issues ask for a client that spends at most 0.8x the server's CPU time per
// line (closed loop, 100 connections, depth 1), and for an open loop whose lines leave
// within 20 us of their intended times. This program asks whether any client could do
// better: it keeps only what a client cannot drop (one send and one receive per line,
// every reply byte checked) and removes every cost it can:
//   - io_uring instead of readiness: sends are queued and submitted together, one
//     io_uring_enter() per batch of completions, not one system call per line;
//   - multishot receives into a provided-buffer ring: a connection's receive is armed
//     once, not once per line;
//   - registered files: no descriptor lookup per operation;
//   - DEFER_TASKRUN + SINGLE_ISSUER: completion work runs only when the loop asks for it;
//   - closed loop: no timers, no histograms, no per-line clock reads;
//   - open loop (--rate): no timer objects either. The wait for the next due line is the
//     timeout of the same io_uring_enter() that waits for replies; with --spin-us the last
//     microseconds before a line are spent polling the ring instead of asleep. The lines
//     due go out as one batch, in an io_uring_enter() of their own that does not wait;
//     since a batch leaves over the whole call, each line's send lag is given both from
//     just before it (as rot13-load times its writes) and from just after it.
// Its user-space time is a few percent of the total; what remains is the kernel's TCP work
// per line (send, loopback delivery, receive), which is the same work the server does per
// line, and in the open loop the kernel's wake-up latency. bench/loadgen_targets.sh runs it
// beside rot13-load and prints both.
//
// It is a measuring instrument for those questions, not a load generator: fixed 16-byte
// lines; closed loop at depth 1; open loop on the uniform schedule rot13-load uses (line j
// due at j / rate seconds, on connection j mod N), with no cap on lines in flight and no
// latency figures; no error recovery (any error ends the run with exit status 1).
//
// Usage: rot13-load-floor --port P [--host 127.0.0.1] [--connections 100] [--duration 5]
//                         [--rate R [--spin-us US]]
// Prints one JSON object: requests, seconds, cpu_user_s, cpu_sys_s, submits; in the open
// loop also sent, send_lag_ns {p50, p99, max}, the lag of each line's send behind its
// intended time as rot13-load reports it, and send_lag_after_ns, the same to the end of
// the system call that sent it.
// Exits 77 when io_uring or one of the features above is unavailable (a skip, not a pass).
#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "common/cli.hpp"
#include "common/errors.hpp"
#include "common/fd.hpp"
#include "loadgen/histogram.hpp"
#include "loadgen/platform.hpp"

namespace {

constexpr std::string_view request = "Hello, ROT13 0x!\n";  // 16 bytes and the newline
constexpr std::string_view expected = "Uryyb, EBG13 0k!\n";
constexpr unsigned buffer_count = 1024;  // power of two, as the ring needs
constexpr unsigned buffer_size = 4096;
constexpr std::uint64_t send_tag = 1ull << 32;  // user_data: send_tag | connection, or connection

struct config {
    std::string host = "127.0.0.1";
    int port = 0;
    int connections = 100;
    double duration_s = 5;
    double rate = 0;     // lines/s in total; 0: closed loop
    double spin_us = 0;  // open loop: poll, not sleep, this long before each due line
};

constexpr const char* usage_text =
    "usage: rot13-load-floor --port P [--host ADDR] [--connections N] [--duration S]\n"
    "                        [--rate R [--spin-us US]]\n"
    "The cheapest client (io_uring): closed loop at depth 1, a floor for rot13-load's CPU per\n"
    "line; open loop with --rate, a floor for its send lag (--spin-us: poll for the last US\n"
    "microseconds before each line instead of sleeping).\n";

// The same flag reader as the servers and rot13-load: "--flag value" or "--flag=value",
// every value range-checked, every mistake a usage_error.
config parse(std::span<const std::string_view> args) {
    config c;
    rot13::flag_reader flags(args);
    while (flags.next()) {
        std::string_view flag = flags.flag();
        if (flag == "--help" || flag == "-h") {
            flags.no_value();
            std::fputs(usage_text, stdout);
            std::exit(0);
        } else if (flag == "--port") {
            c.port = static_cast<int>(flags.integer(1, 65535));
        } else if (flag == "--host") {
            c.host = std::string(flags.value());
        } else if (flag == "--connections") {
            c.connections = static_cast<int>(flags.integer(1, 10000));
        } else if (flag == "--duration") {
            c.duration_s = flags.number(0.001, 3600);
        } else if (flag == "--rate") {
            c.rate = flags.number(1, 1e8);
        } else if (flag == "--spin-us") {
            c.spin_us = flags.number(0, 1e6);
        } else {
            flags.unknown();
        }
    }
    if (c.port == 0) throw rot13::usage_error("--port is required");
    if (c.spin_us > 0 && c.rate == 0)
        throw rot13::usage_error("--spin-us applies to the open loop only: give --rate too");
    return c;
}

[[noreturn]] void skip(const char* what, int err) {
    std::fprintf(stderr, "rot13-load-floor: %s: %s (skipped)\n", what, std::strerror(err));
    std::exit(77);
}

std::vector<rot13::unique_fd> connect_all(const config& c) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(c.port));
    if (::inet_pton(AF_INET, c.host.c_str(), &to.sin_addr) != 1) throw rot13::usage_error("--host must be an IPv4 address");
    std::vector<rot13::unique_fd> fds;
    for (int i = 0; i < c.connections; ++i) {
        rot13::unique_fd fd(::socket(AF_INET, SOCK_STREAM, 0));
        if (!fd) rot13::throw_errno("socket");
        if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) rot13::throw_errno("connect");
        int one = 1;  // as rot13-load does: a 17-byte line must leave at once
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        fds.push_back(std::move(fd));
    }
    return fds;
}

// The ring and what both loops share: the connections registered, a multishot receive on
// each, sends queued without completions, and every reply byte checked.
class ring_client {
public:
    explicit ring_client(std::vector<rot13::unique_fd> fds) : fds_(std::move(fds)), reply_pos_(fds_.size(), 0) {
        io_uring_params params{};
        params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
        if (int r = io_uring_queue_init_params(4096, &ring_, &params); r < 0) skip("io_uring_queue_init_params", -r);
        std::vector<int> raw;
        for (const auto& fd : fds_) raw.push_back(fd.get());
        if (int r = io_uring_register_files(&ring_, raw.data(), static_cast<unsigned>(raw.size())); r < 0)
            skip("io_uring_register_files", -r);
        // The provided-buffer ring: the kernel picks a free buffer for each receive and says
        // which in the completion; reap() hands it back once the bytes are checked.
        buffers_ = static_cast<io_uring_buf_ring*>(std::aligned_alloc(4096, buffer_count * sizeof(io_uring_buf)));
        std::memset(buffers_, 0, buffer_count * sizeof(io_uring_buf));
        io_uring_buf_ring_init(buffers_);
        io_uring_buf_reg reg{};
        reg.ring_addr = reinterpret_cast<std::uint64_t>(buffers_);
        reg.ring_entries = buffer_count;
        reg.bgid = 0;
        if (int r = io_uring_register_buf_ring(&ring_, &reg, 0); r < 0) skip("io_uring_register_buf_ring", -r);
        memory_.resize(std::size_t{buffer_count} * buffer_size);
        for (unsigned id = 0; id < buffer_count; ++id) give_back(id, static_cast<int>(id));
        io_uring_buf_ring_advance(buffers_, buffer_count);
        for (int conn = 0; conn < connections(); ++conn) queue_receive(conn);
    }
    ~ring_client() {
        io_uring_queue_exit(&ring_);
        std::free(buffers_);
    }
    ring_client(const ring_client&) = delete;
    ring_client& operator=(const ring_client&) = delete;

    int connections() const { return static_cast<int>(fds_.size()); }
    std::uint64_t submits() const { return submits_; }

    void queue_send(int conn) {
        io_uring_sqe* sqe = next_sqe();
        io_uring_prep_send(sqe, conn, request.data(), request.size(), 0);
        // A successful send posts no completion; a failed one does, and ends the run.
        sqe->flags |= IOSQE_FIXED_FILE | IOSQE_CQE_SKIP_SUCCESS;
        io_uring_sqe_set_data64(sqe, send_tag | static_cast<std::uint64_t>(conn));
    }

    // Submits what is queued and waits for at least one completion, but no longer than
    // wait_ns (< 0: as long as it takes; 0: not at all). One io_uring_enter() either way.
    void submit_and_wait(std::int64_t wait_ns) {
        ++submits_;
        int r;
        if (wait_ns < 0) {
            r = io_uring_submit_and_wait(&ring_, 1);
        } else if (wait_ns == 0) {
            r = io_uring_submit_and_get_events(&ring_);
        } else {
            __kernel_timespec ts{wait_ns / 1'000'000'000, wait_ns % 1'000'000'000};
            io_uring_cqe* ignored;
            r = io_uring_submit_and_wait_timeout(&ring_, &ignored, 1, &ts, nullptr);
            if (r == -ETIME) r = 0;
        }
        if (r < 0 && r != -EINTR) throw std::system_error(-r, std::generic_category(), "io_uring_enter");
    }

    // Checks the completions that have arrived; on_reply(conn) runs once per whole reply.
    // Returns false (after saying why) at the first failed send or receive, or wrong byte.
    template <class OnReply>
    bool reap(OnReply&& on_reply) {
        io_uring_cqe* cqe;
        unsigned head, seen = 0;
        bool ok = true;
        io_uring_for_each_cqe(&ring_, head, cqe) {
            ++seen;
            if (!(ok = check(cqe, on_reply))) break;
        }
        io_uring_cq_advance(&ring_, seen);
        return ok;
    }

private:
    io_uring_sqe* next_sqe() {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
        if (sqe) return sqe;
        io_uring_submit(&ring_);  // the submission queue is full: hand it to the kernel first
        if ((sqe = io_uring_get_sqe(&ring_))) return sqe;
        throw std::runtime_error("io_uring submission queue full");
    }
    void queue_receive(int conn) {
        io_uring_sqe* sqe = next_sqe();
        io_uring_prep_recv_multishot(sqe, conn, nullptr, 0, 0);
        sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
        sqe->buf_group = 0;
        io_uring_sqe_set_data64(sqe, static_cast<std::uint64_t>(conn));
    }
    void give_back(unsigned id, int offset) {
        io_uring_buf_ring_add(buffers_, memory_.data() + std::size_t{id} * buffer_size, buffer_size,
                              static_cast<unsigned short>(id), io_uring_buf_ring_mask(buffer_count), offset);
    }
    template <class OnReply>
    bool check(const io_uring_cqe* cqe, OnReply& on_reply) {
        const std::uint64_t tag = io_uring_cqe_get_data64(cqe);
        const int conn = static_cast<int>(tag & 0xffffffffu);
        if (tag & send_tag) {
            std::fprintf(stderr, "rot13-load-floor: send on connection %d: %s\n", conn, std::strerror(-cqe->res));
            return false;
        }
        if (cqe->res == -ENOBUFS) {
            // Every provided buffer was in use (one ring entry held more replies than there
            // are buffers): the receive stopped; reap() has handed the buffers back by now.
            queue_receive(conn);
            return true;
        }
        if (cqe->res <= 0) {
            std::fprintf(stderr, "rot13-load-floor: receive on connection %d: %s\n", conn,
                         cqe->res == 0 ? "the server closed it" : std::strerror(-cqe->res));
            return false;
        }
        const unsigned id = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        const char* data = memory_.data() + std::size_t{id} * buffer_size;
        std::size_t& pos = reply_pos_[static_cast<std::size_t>(conn)];
        for (int k = 0; k < cqe->res; ++k) {
            if (data[k] != expected[pos]) {
                std::fprintf(stderr, "rot13-load-floor: wrong reply byte on connection %d\n", conn);
                return false;
            }
            if (++pos == expected.size()) {
                pos = 0;
                on_reply(conn);
            }
        }
        give_back(id, 0);
        io_uring_buf_ring_advance(buffers_, 1);
        // A multishot receive ends when the kernel runs out of buffers; arm it again.
        if (!(cqe->flags & IORING_CQE_F_MORE)) queue_receive(conn);
        return true;
    }

    std::vector<rot13::unique_fd> fds_;
    std::vector<std::size_t> reply_pos_;  // bytes of each connection's current reply received
    io_uring ring_{};
    io_uring_buf_ring* buffers_ = nullptr;
    std::vector<char> memory_;
    std::uint64_t submits_ = 0;
};

using steady = std::chrono::steady_clock;

std::int64_t ns_since(steady::time_point t0) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now() - t0).count();
}

struct tally {
    std::uint64_t requests = 0;  // replies received whole, and checked
    std::uint64_t sent = 0;      // open loop: lines sent
    // rot13-load's own histogram, so that the percentiles mean what its send_lag_ns does.
    loadgen::histogram send_lag;        // from just before the call that sent the line
    loadgen::histogram send_lag_after;  // from just after it returned
};

// Closed loop, depth 1: the next line of a connection goes out as soon as its reply is in.
bool closed_loop(ring_client& client, std::int64_t duration_ns, steady::time_point t0, tally& t) {
    for (int conn = 0; conn < client.connections(); ++conn) client.queue_send(conn);
    while (ns_since(t0) < duration_ns) {
        client.submit_and_wait(-1);
        bool ok = client.reap([&](int conn) {
            ++t.requests;
            client.queue_send(conn);
        });
        if (!ok) return false;
    }
    return true;
}

// Open loop: every line that is due is queued and the batch submitted at once, then one
// io_uring_enter() sleeps until the next line is due (less the spin) or a reply arrives,
// whichever is first. A batch's sends are made one after another inside the submitting
// io_uring_enter(), at times no clock read in user space sees, so each line gets two lags:
// from the clock read just before that call (as rot13-load times a write: before the
// system call that carries the line) and from the one just after it returns (no line of
// the batch left later than that).
bool open_loop(ring_client& client, const config& cfg, std::int64_t duration_ns, steady::time_point t0, tally& t) {
    const double gap_ns = 1e9 / cfg.rate;  // between consecutive lines, over all connections
    const auto spin_ns = static_cast<std::int64_t>(cfg.spin_us * 1e3);
    const auto due = [&](std::uint64_t line) { return static_cast<std::int64_t>(static_cast<double>(line) * gap_ns); };
    const auto count_reply = [&](int) { ++t.requests; };
    std::uint64_t next = 0;
    for (;;) {
        std::int64_t now = ns_since(t0);
        if (now >= duration_ns) return true;
        const std::uint64_t first = next;
        while (due(next) <= now && due(next) < duration_ns) {
            client.queue_send(static_cast<int>(next % static_cast<std::uint64_t>(client.connections())));
            t.send_lag.record(now - due(next));
            ++next;
        }
        if (next > first) {
            client.submit_and_wait(0);  // makes the sends, and collects any replies, without sleeping
            now = ns_since(t0);
            for (std::uint64_t line = first; line < next; ++line) t.send_lag_after.record(now - due(line));
            t.sent = next;
            if (!client.reap(count_reply)) return false;
        }
        const std::int64_t wait = std::min(due(next), duration_ns) - now - spin_ns;
        client.submit_and_wait(std::max<std::int64_t>(wait, 0));
        if (!client.reap(count_reply)) return false;
    }
}

int run(const config& cfg) {
    ring_client client(connect_all(cfg));
    const auto duration_ns = static_cast<std::int64_t>(cfg.duration_s * 1e9);
    tally t;
    const steady::time_point t0 = steady::now();
    const loadgen::cpu_times before = loadgen::process_cpu_times();  // as rot13-load measures itself
    const bool ok = cfg.rate > 0 ? open_loop(client, cfg, duration_ns, t0, t) : closed_loop(client, duration_ns, t0, t);
    if (!ok) return 1;
    const loadgen::cpu_times after = loadgen::process_cpu_times();
    const double elapsed = static_cast<double>(ns_since(t0)) / 1e9;
    std::printf("{\"requests\": %llu, \"seconds\": %.3f, \"cpu_user_s\": %.3f, \"cpu_sys_s\": %.3f, \"submits\": %llu",
                static_cast<unsigned long long>(t.requests), elapsed, after.user - before.user, after.sys - before.sys,
                static_cast<unsigned long long>(client.submits()));
    if (cfg.rate > 0) {
        std::printf(", \"sent\": %llu", static_cast<unsigned long long>(t.sent));
        for (auto [name, h] : {std::pair{"send_lag_ns", &t.send_lag}, std::pair{"send_lag_after_ns", &t.send_lag_after}})
            std::printf(", \"%s\": {\"p50\": %lld, \"p99\": %lld, \"max\": %lld}", name,
                        static_cast<long long>(h->value_at_percentile(50)),
                        static_cast<long long>(h->value_at_percentile(99)), static_cast<long long>(h->max()));
    }
    std::printf("}\n");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string_view> args(argv + 1, argv + argc);
    config cfg;
    try {
        cfg = parse(args);
    } catch (const rot13::usage_error& e) {
        std::fprintf(stderr, "rot13-load-floor: %s\n%s", e.what(), usage_text);
        return 2;
    }
    return rot13::run_main("rot13-load-floor", [&] { return run(cfg); });
}
