// The differential server test: one real server against the protocol's reference model
// (tests/support/client.hpp, expected_replies), on thousands of random byte streams.
//
// Each stream is a few random lines: any byte but '\n' (NUL, '\r', bytes >= 0x80 among
// them), lengths from 0 to a few bytes and around MAX_LINE and twice MAX_LINE, the last
// line sometimes left without its '\n' (no reply is owed for it). A connection sends its
// stream in writes of random sizes (a byte at a time up to 32 KiB) with random pauses,
// shuts down its writing side and reads until the server closes; every byte it received
// must be the reference's, and nothing may be missing. Several connections run at once,
// so that a server that mixes up connections or buffers fails too.
//
// Every stream has its own generator, seeded from --seed and its index, so a failure
// prints the one command line that replays just that stream.
//
// Usage: rot13-differential --server BINARY [--arg ARG]... [--streams N] [--seed S]
//                           [--stream K] [--concurrency C]
// Exit status: 0 every stream matched, 1 a mismatch (the seed and the stream are printed),
// 77 the server's mechanism is not available here (a skip), 2 a usage error.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client.hpp"
#include "loadgen/payload.hpp"
#include "server_process.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using rot13::test::expected_replies;

constexpr std::size_t max_line = 16384;

// SplitMix64 (rot13-load's): the same streams from the same seed on every platform and
// standard library, which std::mt19937 with std:: distributions does not promise.
struct rng {
    loadgen::splitmix64 g;
    std::size_t below(std::size_t n) { return static_cast<std::size_t>(g.next() % n); }
    bool chance(unsigned percent) { return below(100) < percent; }
};

struct stream {
    std::string input;
    std::string expected;
    std::vector<std::size_t> line_lengths;
};

std::size_t line_length(rng& r) {
    switch (r.below(10)) {
        case 0:
            return 0;
        case 1:
        case 2:
        case 3:
            return 1 + r.below(8);
        case 4:
        case 5:
            return r.below(200);
        case 6:
        case 7:
            return max_line - 3 + r.below(7);  // MAX_LINE - 3 .. MAX_LINE + 3
        case 8:
            return 2 * max_line - 2 + r.below(5);  // two pieces and a bit
        default:
            return r.below(3 * max_line);
    }
}

stream make_stream(std::uint64_t seed, std::uint64_t index) {
    rng r{loadgen::splitmix64(seed * 0x100000001b3ull ^ (index + 1) * 0x9e3779b97f4a7c15ull)};
    stream s;
    const std::size_t lines = 1 + r.below(6);
    for (std::size_t i = 0; i < lines; ++i) {
        std::size_t n = line_length(r);
        s.line_lengths.push_back(n);
        for (std::size_t k = 0; k < n; ++k) {
            auto c = static_cast<char>(r.below(256));
            s.input += c == '\n' ? '\r' : c;
        }
        // The last line sometimes ends without '\n': a partial line at EOF, owed no reply.
        if (i + 1 < lines || !r.chance(15)) s.input += '\n';
    }
    s.expected = expected_replies(s.input);
    return s;
}

// One connection replaying one stream.
struct session {
    std::uint64_t index = 0;
    stream s;
    rng r{loadgen::splitmix64(0)};
    int fd = -1;
    bool connected = false;
    std::size_t sent = 0;
    bool write_closed = false;
    std::string received;
    clock_type::time_point resume_at{};  // a pause: no write before this
    clock_type::time_point last_progress{};
    std::vector<std::size_t> writes;  // sizes of the writes made, for the report
};

std::size_t next_write_size(rng& r) {
    switch (r.below(4)) {
        case 0:
            return 1 + r.below(3);
        case 1:
            return 1 + r.below(100);
        case 2:
            return 1 + r.below(4096);
        default:
            return 1 + r.below(32768);
    }
}

struct config {
    std::string server;
    std::vector<std::string> args;
    std::uint64_t streams = 3000;
    std::uint64_t seed = 1;
    std::optional<std::uint64_t> only;
    std::size_t concurrency = 8;
};

void report(const config& c, const session& x, const std::string& what) {
    std::size_t at = 0;
    while (at < x.received.size() && at < x.s.expected.size() && x.received[at] == x.s.expected[at]) ++at;
    std::string lengths, writes;
    // Appended piece by piece: GCC 12 warns (-Wrestrict, falsely) about "," + to_string().
    for (std::size_t n : x.s.line_lengths) {
        if (!lengths.empty()) lengths += ',';
        lengths += std::to_string(n);
    }
    for (std::size_t i = 0; i < x.writes.size() && i < 40; ++i) {
        if (!writes.empty()) writes += ',';
        writes += std::to_string(x.writes[i]);
    }
    if (x.writes.size() > 40) writes += ",...";
    std::fprintf(stderr,
                 "differential: %s: %s\n"
                 "  stream %llu (seed %llu): %zu input bytes, lines of %s bytes%s\n"
                 "  writes: %s%s\n"
                 "  received %zu of %zu expected bytes; first difference at byte %zu\n"
                 "  replay: %s --server %s",
                 c.server.c_str(), what.c_str(), static_cast<unsigned long long>(x.index),
                 static_cast<unsigned long long>(c.seed), x.s.input.size(), lengths.c_str(),
                 x.s.input.empty() || x.s.input.back() == '\n' ? "" : " (the last without its \\n)",
                 writes.c_str(), x.write_closed ? ", then shutdown(SHUT_WR)" : "", x.received.size(),
                 x.s.expected.size(), at, "rot13-differential", c.server.c_str());
    for (const auto& a : c.args) std::fprintf(stderr, " --arg %s", a.c_str());
    std::fprintf(stderr, " --seed %llu --stream %llu\n", static_cast<unsigned long long>(c.seed),
                 static_cast<unsigned long long>(x.index));
}

int run(const config& c) {
    rot13::test::launch_options launch;
    launch.binary = c.server;
    launch.args = c.args;
    rot13::test::server_process server(launch);
    if (server.unavailable()) {
        std::fprintf(stderr, "differential: %s: not available here (exit 77): skipped\n", c.server.c_str());
        return 77;
    }

    std::uint64_t next = c.only.value_or(0);
    const std::uint64_t end = c.only ? *c.only + 1 : c.streams;
    std::vector<session> live;
    std::uint64_t passed = 0;
    std::size_t bytes = 0;
    const auto started = clock_type::now();
    while (next < end || !live.empty()) {
        while (live.size() < c.concurrency && next < end) {
            session x;
            x.index = next++;
            x.s = make_stream(c.seed, x.index);
            x.r = rng{loadgen::splitmix64(c.seed ^ x.index * 0xd1b54a32d192ed03ull)};
            x.fd = rot13::test::start_connect(server.port());
            x.last_progress = clock_type::now();
            live.push_back(std::move(x));
        }
        const auto now = clock_type::now();
        std::vector<pollfd> fds;
        int wait_ms = 100;
        for (auto& x : live) {
            short events = POLLIN;
            bool may_write = !x.write_closed && now >= x.resume_at;
            if (!x.connected || may_write) events |= POLLOUT;
            if (!x.write_closed && now < x.resume_at)
                wait_ms = std::min<int>(
                    wait_ms,
                    static_cast<int>(
                        std::chrono::duration_cast<std::chrono::milliseconds>(x.resume_at - now).count()) +
                        1);
            fds.push_back({x.fd, events, 0});
        }
        if (::poll(fds.data(), fds.size(), wait_ms) < 0 && errno != EINTR) {
            std::perror("differential: poll");
            return 1;
        }
        for (std::size_t i = 0; i < live.size();) {
            session& x = live[i];
            const short got = fds[i].revents;
            bool finished = false;
            std::string failure;
            if (got & POLLOUT) {
                x.connected = true;
                if (!x.write_closed && clock_type::now() >= x.resume_at) {
                    std::size_t n = std::min(next_write_size(x.r), x.s.input.size() - x.sent);
                    ssize_t w = n ? ::send(x.fd, x.s.input.data() + x.sent, n, MSG_NOSIGNAL) : 0;
                    if (w > 0) {
                        x.writes.push_back(static_cast<std::size_t>(w));
                        x.sent += static_cast<std::size_t>(w);
                        x.last_progress = clock_type::now();
                        // A pause now and then: the server sees a line arrive over time.
                        if (x.r.chance(10))
                            x.resume_at = clock_type::now() + std::chrono::microseconds(x.r.below(3000));
                    } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                        failure = std::string("send failed: ") + std::strerror(errno);
                    }
                    if (failure.empty() && x.sent == x.s.input.size()) {
                        ::shutdown(x.fd, SHUT_WR);
                        x.write_closed = true;
                    }
                }
            }
            if (failure.empty() && (got & (POLLIN | POLLHUP | POLLERR))) {
                char buf[65536];
                ssize_t n = ::recv(x.fd, buf, sizeof(buf), 0);
                if (n > 0) {
                    x.received.append(buf, static_cast<std::size_t>(n));
                    x.last_progress = clock_type::now();
                    if (x.received.size() > x.s.expected.size() ||
                        std::memcmp(x.received.data() + x.received.size() - static_cast<std::size_t>(n),
                                    x.s.expected.data() + x.received.size() - static_cast<std::size_t>(n),
                                    static_cast<std::size_t>(n)) != 0)
                        failure = "a reply byte differs from the reference";
                } else if (n == 0) {
                    if (!x.write_closed)
                        failure = "the server closed the connection before the stream was sent";
                    else if (x.received != x.s.expected)
                        failure = "the server closed the connection with replies missing";
                    finished = true;
                } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                    failure = std::string("recv failed: ") + std::strerror(errno);
                }
            }
            if (failure.empty() && !finished &&
                clock_type::now() - x.last_progress > std::chrono::seconds(10))
                failure = "no progress for 10 s";
            if (!failure.empty()) {
                report(c, x, failure);
                for (auto& y : live) ::close(y.fd);
                return 1;
            }
            if (finished) {
                ::close(x.fd);
                bytes += x.s.input.size();
                ++passed;
                live[i] = std::move(live.back());
                live.pop_back();
                fds[i] = fds.back();
                fds.pop_back();
                continue;
            }
            ++i;
        }
    }
    double seconds = std::chrono::duration<double>(clock_type::now() - started).count();
    std::printf("differential: %s: %llu streams (seed %llu, %zu bytes) matched the reference in %.1f s\n",
                c.server.c_str(), static_cast<unsigned long long>(passed),
                static_cast<unsigned long long>(c.seed), bytes, seconds);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    config c;
    auto number = [&](int& i) -> std::uint64_t {
        if (i + 1 >= argc) {
            std::fprintf(stderr, "rot13-differential: %s needs a value\n", argv[i]);
            std::exit(2);
        }
        char* end = nullptr;
        unsigned long long v = std::strtoull(argv[++i], &end, 10);
        if (*end != '\0') {
            std::fprintf(stderr, "rot13-differential: %s expects a number, got '%s'\n", argv[i - 1], argv[i]);
            std::exit(2);
        }
        return v;
    };
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--server" && i + 1 < argc)
            c.server = argv[++i];
        else if (a == "--arg" && i + 1 < argc)
            c.args.push_back(argv[++i]);
        else if (a == "--streams")
            c.streams = number(i);
        else if (a == "--seed")
            c.seed = number(i);
        else if (a == "--stream")
            c.only = number(i);
        else if (a == "--concurrency")
            c.concurrency = std::max<std::uint64_t>(1, number(i));
        else {
            c.server.clear();
            break;
        }
    }
    if (c.server.empty()) {
        std::fprintf(stderr,
                     "usage: rot13-differential --server BINARY [--arg ARG]... [--streams N] [--seed S] "
                     "[--stream K] [--concurrency C]\n");
        return 2;
    }
    try {
        return run(c);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "differential: %s: %s\n", c.server.c_str(), e.what());
        return 1;
    }
}
