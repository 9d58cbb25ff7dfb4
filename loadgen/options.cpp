#include "loadgen/options.hpp"

// clang-format off
#include <utility>  // before Boost.Asio: Boost 1.74's headers use std::exchange without it (C++20)
#include <boost/asio/ip/address.hpp>
// clang-format on

#include <chrono>
#include <cstdio>
#include <limits>

#include "common/cli.hpp"
#include "common/errors.hpp"

namespace loadgen {
namespace {

using rot13::usage_error;

boost::asio::ip::address parse_address(std::string_view text) {
    std::string copy(text);
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address(copy, ec);
    if (ec)
        throw usage_error("--source expects addresses like 127.0.0.1-127.0.0.8 or fd00::1-fd00::ff, got '" + copy +
                          "'");
    return address;
}

// An IPv6 address as two 64-bit halves, so that a range can be counted along the low one.
struct ipv6_halves {
    std::uint64_t high = 0;
    std::uint64_t low = 0;
};
ipv6_halves halves(const boost::asio::ip::address_v6& a) {
    ipv6_halves h;
    auto bytes = a.to_bytes();
    for (int i = 0; i < 8; ++i) h.high = h.high << 8 | bytes[static_cast<std::size_t>(i)];
    for (int i = 8; i < 16; ++i) h.low = h.low << 8 | bytes[static_cast<std::size_t>(i)];
    return h;
}
boost::asio::ip::address_v6 from_halves(ipv6_halves h) {
    boost::asio::ip::address_v6::bytes_type bytes;
    for (int i = 7; i >= 0; --i, h.high >>= 8) bytes[static_cast<std::size_t>(i)] = static_cast<unsigned char>(h.high);
    for (int i = 15; i >= 8; --i, h.low >>= 8) bytes[static_cast<std::size_t>(i)] = static_cast<unsigned char>(h.low);
    return boost::asio::ip::address_v6(bytes);
}

// "A" or "A-B" (inclusive), IPv4 or IPv6 (the two ends of one family; an IPv6 range within
// one /64), at most 65536 addresses.
std::vector<boost::asio::ip::address> parse_source_range(std::string_view text) {
    const std::string whole(text);
    // An IPv6 address has colons but no '-', so the first '-' separates the two ends.
    auto dash = text.find('-');
    auto first = parse_address(text.substr(0, dash));
    auto last = dash == std::string_view::npos ? first : parse_address(text.substr(dash + 1));
    if (first.is_v4() != last.is_v4())
        throw usage_error("--source range mixes IPv4 and IPv6: '" + whole + "'");
    std::vector<boost::asio::ip::address> out;
    if (first.is_v4()) {
        std::uint32_t lo = first.to_v4().to_uint(), hi = last.to_v4().to_uint();
        if (hi < lo) throw usage_error("--source range ends before it starts: '" + whole + "'");
        if (hi - lo >= 65536) throw usage_error("--source range holds more than 65536 addresses");
        for (std::uint64_t a = lo; a <= hi; ++a) out.emplace_back(boost::asio::ip::address_v4(static_cast<std::uint32_t>(a)));
        return out;
    }
    ipv6_halves lo = halves(first.to_v6()), hi = halves(last.to_v6());
    if (lo.high != hi.high) throw usage_error("--source IPv6 range spans more than one /64: '" + whole + "'");
    if (hi.low < lo.low) throw usage_error("--source range ends before it starts: '" + whole + "'");
    if (hi.low - lo.low >= 65536) throw usage_error("--source range holds more than 65536 addresses");
    for (ipv6_halves a = lo;; ++a.low) {
        out.emplace_back(from_halves(a));
        if (a.low == hi.low) break;
    }
    return out;
}

}  // namespace

options parse_options(std::span<const std::string_view> args) {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    return parse_options(args, std::chrono::duration<double>(now).count());
}

options parse_options(std::span<const std::string_view> args, double now_epoch_s) {
    options opts;
    bool arrivals_given = false;
    bool spin_given = false;
    rot13::flag_reader flags(args);
    while (flags.next()) {
        std::string_view flag = flags.flag();
        constexpr double day = 86400;
        if (flag == "--help" || flag == "-h") {
            flags.no_value();
            opts.help = true;
        } else if (flag == "--host") {
            opts.host = std::string(flags.value());
            if (opts.host.empty()) throw usage_error("--host needs an address");
        } else if (flag == "--port") {
            opts.port = static_cast<int>(flags.integer(1, 65535));
        } else if (flag == "--connections" || flag == "-c") {
            opts.connections = static_cast<int>(flags.integer(1, 1'000'000));
        } else if (flag == "--idle") {
            opts.idle = static_cast<int>(flags.integer(0, 1'000'000));
        } else if (flag == "--depth") {
            opts.depth = static_cast<int>(flags.integer(1, 1'000'000));
        } else if (flag == "--rate") {
            opts.rate = flags.number(0, 1e9);
        } else if (flag == "--arrivals") {
            std::string_view v = flags.value();
            if (v == "uniform")
                opts.arrivals = arrival_process::uniform;
            else if (v == "poisson")
                opts.arrivals = arrival_process::poisson;
            else
                throw usage_error("--arrivals expects uniform or poisson, got '" + std::string(v) + "'");
            arrivals_given = true;
        } else if (flag == "--spin-us") {
            opts.spin_us = flags.number(0, 1e6);
            spin_given = true;
        } else if (flag == "--size") {
            opts.size = static_cast<std::size_t>(flags.integer(0, 64 << 20));
        } else if (flag == "--seed") {
            opts.seed = static_cast<std::uint64_t>(
                flags.integer(0, std::numeric_limits<long long>::max()));
        } else if (flag == "--duration") {
            opts.duration_s = flags.number(0.001, 30 * day);
        } else if (flag == "--warmup") {
            opts.warmup_s = flags.number(0, 30 * day);
        } else if (flag == "--timeout") {
            opts.timeout_s = flags.number(0.001, day);
        } else if (flag == "--connect-rate") {
            opts.connect_rate = flags.number(0, 1e7);
        } else if (flag == "--source") {
            opts.source = std::string(flags.value());
            opts.source_addresses = parse_source_range(opts.source);
        } else if (flag == "--threads") {
            opts.threads = static_cast<int>(flags.integer(1, 1024));
        } else if (flag == "--max-p99-ms") {
            opts.max_p99_ms = flags.number(0, 1e9);
        } else if (flag == "--max-error-rate") {
            opts.max_error_rate = flags.number(0, 1);
        } else if (flag == "--json") {
            opts.json_path = std::string(flags.value());
            if (opts.json_path.empty()) throw usage_error("--json needs a file name (or - for stdout)");
        } else if (flag == "--hdr-log") {
            opts.hdr_log_path = std::string(flags.value());
            if (opts.hdr_log_path.empty()) throw usage_error("--hdr-log needs a file name");
        } else if (flag == "--start-at") {
            opts.start_at_epoch_s = flags.number(1, 1e15);
        } else if (flag == "--label") {
            opts.label = std::string(flags.value());
            if (opts.label.empty()) throw usage_error("--label needs a name");
        } else if (flag == "--stop-on-stdin-close") {
            flags.no_value();
            opts.stop_on_stdin_close = true;
        } else if (flag == "--quiet" || flag == "-q") {
            flags.no_value();
            opts.quiet = true;
        } else {
            flags.unknown();
        }
    }
    if (opts.help) return opts;
    if (opts.port < 0)
        throw usage_error("--port is required (the server's port; rot13 servers print it when ready)");
    if (arrivals_given && !opts.open_loop())
        throw usage_error("--arrivals applies to the open loop only: give --rate too");
    if (spin_given && !opts.open_loop())
        throw usage_error("--spin-us applies to the open loop only: give --rate too");
    if (opts.start_at_epoch_s > 0) {
        // A start in the past would begin at once, unlike the other generators; one far
        // in the future is most likely milliseconds given for seconds.
        double ahead = opts.start_at_epoch_s - now_epoch_s;
        char text[200];
        if (ahead < -start_at_tolerance_s) {
            std::snprintf(text, sizeof(text),
                          "--start-at %.3f is %.1f s in the past by this host's clock (now %.3f): give a "
                          "time a few seconds ahead, e.g. $(( $(date +%%s) + 5 ))",
                          opts.start_at_epoch_s, -ahead, now_epoch_s);
            throw usage_error(text);
        }
        if (ahead > 86400) {
            std::snprintf(text, sizeof(text),
                          "--start-at %.3f is %.0f s ahead, more than a day: it is seconds since the Unix "
                          "epoch, not milliseconds",
                          opts.start_at_epoch_s, ahead);
            throw usage_error(text);
        }
    }
    return opts;
}

std::string usage_text() {
    return R"(usage: rot13-load --port N [options]
       rot13-load merge [--force] A.json B.json ... > merged.json

Drives a ROT13 line server with many connections, checks every reply byte, and reports
throughput, errors by class and the latency spectrum (docs/loadgen.md).

target:
  --host ADDR          server address (default 127.0.0.1)
  --port N             server port (required)
load:
  --connections N, -c  connections sending lines (default 10)
  --depth D            closed loop: lines kept in flight per connection (default 1);
                       open loop: most lines in flight before a send waits (default 1000)
  --rate R             open loop: R lines/s in total, each connection on its own schedule
                       (default: closed loop)
  --arrivals KIND      open loop schedule: uniform (default) or poisson
  --spin-us US         open loop: wake US microseconds before each due line and poll,
                       without sleeping, until it is due (default 0: trust the timer).
                       Costs CPU; buys send times on time where timer wake-ups are late
  --idle N             extra connections opened and held without traffic (default 0)
  --size B             line length in bytes, without '\n' (default 16; lines longer than
                       16384 are answered in pieces, as the protocol says)
  --seed N             payload generator seed (default 1)
timing:
  --duration S         measured seconds (default 10)
  --warmup S           seconds of load before the measurement, excluded (default 1)
  --timeout S          seconds before a request or a connect counts as timed out (default 10)
  --connect-rate R     new connections per second during ramp-up (default: unlimited)
  --source A[-B]       spread connections over source addresses A..B, IPv4 or IPv6 (e.g.
                       127.0.0.1-127.0.0.8), past one address's ephemeral port range
  --threads N          event-loop threads (default: the CPUs this process may use)
several generators (docs/multi-host.md):
  --start-at EPOCH     begin the warm-up at this wall-clock time (seconds since the Unix
                       epoch, fractions allowed); connections are opened before it. A time
                       more than 2 s in the past is refused
  --label NAME         this generator's name in the results and in merges (default: host name)
  --stop-on-stdin-close  end the run as SIGTERM would when stdin reaches end of file (the
                       ssh connection that started it dropped); exit 5 s later regardless
pass/fail:
  --max-p99-ms MS      fail (exit 1) if the corrected p99 latency exceeds MS
  --max-error-rate F   fail (exit 1) if errors / (requests + errors) exceeds F (default 0)
output:
  --json FILE          write the results object (docs/results-schema.md); - for stdout
  --hdr-log FILE       write per-second histograms in HdrHistogram's interval-log format
  --quiet, -q          no summary on stdout, no progress line
  --help, -h           show this text

merge: adds up runs made at the same time by several generators, exactly. It refuses
inputs that are not one experiment (another target, mode, line size, depth or rate per
generator, or windows that overlap by less than 95 %) and names the difference;
--force merges them anyway and records that it did.

Exit status: 0 ok, 1 failed run (validation failure, errors, SLO broken), 2 usage error.
Ctrl-C or SIGTERM ends the run early and still writes everything measured so far.
)";
}

}  // namespace loadgen
