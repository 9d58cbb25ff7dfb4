// rot13-load-floor: the cheapest closed-loop ROT13 client we know how to write, to find
// the floor under any load generator's CPU cost per line on this kernel.
//
// rot13-load's issue asks for a client that spends at most 0.8x the server's CPU time per
// line (closed loop, 100 connections, depth 1). rot13-load spends about 1.0x. This program
// asks whether any client could do better: it keeps only what a closed-loop client cannot
// drop (one send and one receive per line, every reply byte checked) and removes every
// cost it can:
//   - io_uring instead of readiness: sends are queued and submitted together, one
//     io_uring_enter() per batch of completions, not one system call per line;
//   - multishot receives into a provided-buffer ring: a connection's receive is armed
//     once, not once per line;
//   - registered files: no descriptor lookup per operation;
//   - DEFER_TASKRUN + SINGLE_ISSUER: completion work runs only when the loop asks for it;
//   - no timers, no histograms, no per-line clock reads.
// Its user-space time is a few percent of the total; what remains is the kernel's TCP work
// per line (send, loopback delivery, receive), which is the same work the server does per
// line. bench/loadgen_targets.sh runs it beside rot13-load and prints both ratios.
//
// It is a measuring instrument for that one question, not a load generator: fixed 16-byte
// lines, depth 1, no error recovery (any error ends the run with exit status 1).
//
// Usage: rot13-load-floor --port P [--host 127.0.0.1] [--connections 100] [--duration 5]
// Prints one JSON object: requests, seconds, cpu_user_s, cpu_sys_s, submits.
// Exits 77 when io_uring or one of the features above is unavailable (a skip, not a pass).
#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "common/cli.hpp"
#include "common/errors.hpp"
#include "common/fd.hpp"
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
};

constexpr const char* usage_text =
    "usage: rot13-load-floor --port P [--host ADDR] [--connections N] [--duration S]\n"
    "The cheapest closed-loop client (io_uring, depth 1): a floor for rot13-load's CPU per line.\n";

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
        } else {
            flags.unknown();
        }
    }
    if (c.port == 0) throw rot13::usage_error("--port is required");
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

int run(const config& cfg) {
    std::vector<rot13::unique_fd> fds = connect_all(cfg);

    io_uring ring;
    io_uring_params params{};
    params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    if (int r = io_uring_queue_init_params(4096, &ring, &params); r < 0) skip("io_uring_queue_init_params", -r);
    std::vector<int> raw;
    for (const auto& fd : fds) raw.push_back(fd.get());
    if (int r = io_uring_register_files(&ring, raw.data(), static_cast<unsigned>(raw.size())); r < 0)
        skip("io_uring_register_files", -r);

    // The provided-buffer ring: the kernel picks a free buffer for each receive and says
    // which in the completion; the loop hands it back once the bytes are checked.
    auto* buffers = static_cast<io_uring_buf_ring*>(std::aligned_alloc(4096, buffer_count * sizeof(io_uring_buf)));
    std::memset(buffers, 0, buffer_count * sizeof(io_uring_buf));
    io_uring_buf_ring_init(buffers);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uint64_t>(buffers);
    reg.ring_entries = buffer_count;
    reg.bgid = 0;
    if (int r = io_uring_register_buf_ring(&ring, &reg, 0); r < 0) skip("io_uring_register_buf_ring", -r);
    std::vector<char> memory(std::size_t{buffer_count} * buffer_size);
    const int mask = io_uring_buf_ring_mask(buffer_count);
    auto give_back = [&](unsigned id, int offset) {
        io_uring_buf_ring_add(buffers, memory.data() + std::size_t{id} * buffer_size, buffer_size,
                              static_cast<unsigned short>(id), mask, offset);
    };
    for (unsigned id = 0; id < buffer_count; ++id) give_back(id, static_cast<int>(id));
    io_uring_buf_ring_advance(buffers, buffer_count);

    auto queue_send = [&](int conn) {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring);
        io_uring_prep_send(sqe, conn, request.data(), request.size(), 0);
        // A successful send posts no completion; a failed one does, and ends the run.
        sqe->flags |= IOSQE_FIXED_FILE | IOSQE_CQE_SKIP_SUCCESS;
        io_uring_sqe_set_data64(sqe, send_tag | static_cast<std::uint64_t>(conn));
    };
    auto queue_receive = [&](int conn) {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring);
        io_uring_prep_recv_multishot(sqe, conn, nullptr, 0, 0);
        sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
        sqe->buf_group = 0;
        io_uring_sqe_set_data64(sqe, static_cast<std::uint64_t>(conn));
    };

    std::vector<std::size_t> reply_pos(fds.size(), 0);  // bytes of the current reply received
    std::uint64_t requests = 0, submits = 0;
    for (int conn = 0; conn < cfg.connections; ++conn) {
        queue_receive(conn);
        queue_send(conn);
    }
    const auto start = std::chrono::steady_clock::now();
    const auto end = start + std::chrono::duration<double>(cfg.duration_s);
    const loadgen::cpu_times before = loadgen::process_cpu_times();  // as rot13-load measures itself
    while (std::chrono::steady_clock::now() < end) {
        if (int r = io_uring_submit_and_wait(&ring, 1); r < 0 && r != -EINTR)
            throw std::system_error(-r, std::generic_category(), "io_uring_submit_and_wait");
        ++submits;
        io_uring_cqe* cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
            ++seen;
            const std::uint64_t tag = io_uring_cqe_get_data64(cqe);
            const int conn = static_cast<int>(tag & 0xffffffffu);
            if (tag & send_tag) {
                std::fprintf(stderr, "rot13-load-floor: send on connection %d: %s\n", conn, std::strerror(-cqe->res));
                return 1;
            }
            if (cqe->res <= 0) {
                std::fprintf(stderr, "rot13-load-floor: receive on connection %d: %s\n", conn,
                             cqe->res == 0 ? "the server closed it" : std::strerror(-cqe->res));
                return 1;
            }
            const unsigned id = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
            const char* data = memory.data() + std::size_t{id} * buffer_size;
            for (int k = 0; k < cqe->res; ++k) {
                std::size_t& pos = reply_pos[static_cast<std::size_t>(conn)];
                if (data[k] != expected[pos]) {
                    std::fprintf(stderr, "rot13-load-floor: wrong reply byte on connection %d\n", conn);
                    return 1;
                }
                if (++pos == expected.size()) {  // a whole reply: the next line, at once
                    pos = 0;
                    ++requests;
                    queue_send(conn);
                }
            }
            give_back(id, 0);
            io_uring_buf_ring_advance(buffers, 1);
            // A multishot receive ends when the kernel runs out of buffers; arm it again.
            if (!(cqe->flags & IORING_CQE_F_MORE)) queue_receive(conn);
        }
        io_uring_cq_advance(&ring, seen);
    }
    const loadgen::cpu_times after = loadgen::process_cpu_times();
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("{\"requests\": %llu, \"seconds\": %.3f, \"cpu_user_s\": %.3f, \"cpu_sys_s\": %.3f, \"submits\": %llu}\n",
                static_cast<unsigned long long>(requests), elapsed, after.user - before.user,
                after.sys - before.sys, static_cast<unsigned long long>(submits));
    io_uring_queue_exit(&ring);
    std::free(buffers);
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
