// rot13-load's command line: every flag, its default, and the checks that turn a bad
// value into a usage error (exit status 2) before anything is started.
#pragma once

// clang-format off
#include <utility>  // before Boost.Asio: Boost 1.74's headers use std::exchange without it (C++20)
#include <boost/asio/ip/address.hpp>
// clang-format on

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace loadgen {

enum class arrival_process { uniform, poisson };

struct options {
    std::string host = "127.0.0.1";
    int port = -1;         // required: there is no safe default (see DESIGN.md)
    int connections = 10;  // connections that send lines
    int idle = 0;          // extra connections held open without traffic
    int depth = 0;         // 0: 1 in closed loop, 1000 in open loop (see effective_depth)
    double rate = 0;       // lines/s in total; 0 means closed loop
    arrival_process arrivals = arrival_process::uniform;
    // Open loop: the last spin_us microseconds before each due line are spent polling,
    // not asleep on a timer (a timer's wake-up can be late by tens of microseconds).
    double spin_us = 0;
    std::size_t size = 16;  // bytes per line, without the '\n'
    std::uint64_t seed = 1;
    double duration_s = 10;   // the measured window
    double warmup_s = 1;      // before the window, excluded from every figure
    double timeout_s = 10;    // per request and per connect
    double connect_rate = 0;  // new connections per second; 0: as fast as the server accepts
    std::string source;       // "A" or "A-B": source addresses, IPv4 or IPv6, as given
    std::vector<boost::asio::ip::address> source_addresses;  // parsed from source
    int threads = 0;                              // 0: the CPUs this process may run on
    double max_p99_ms = -1;                       // < 0: no threshold
    double max_error_rate = 0;                    // errors / (requests + errors) above this fails the run
    std::string json_path;                        // "-" for stdout
    std::string hdr_log_path;
    // Several generators started together: the wall-clock time (seconds since the Unix
    // epoch) at which the warm-up begins, once every connection is up; 0: at once.
    double start_at_epoch_s = 0;
    std::string label;                // names this generator in results and merges; "": the host name
    bool stop_on_stdin_close = false;  // end the run when stdin reaches EOF (an ssh link dropped)
    bool quiet = false;
    bool help = false;

    bool open_loop() const noexcept { return rate > 0; }
    int effective_depth() const noexcept { return depth > 0 ? depth : (open_loop() ? 1000 : 1); }
};

// Parses the arguments after the program name (and after "run", if given). Throws
// rot13::usage_error naming the flag on any mistake. now_epoch_s is the wall-clock time
// that --start-at is checked against (a time in the past is refused).
options parse_options(std::span<const std::string_view> args, double now_epoch_s);
options parse_options(std::span<const std::string_view> args);  // against the system clock

// How far in the past --start-at may lie and still start at once: generators started over
// ssh a moment after the time was chosen are late by a few hundred milliseconds.
inline constexpr double start_at_tolerance_s = 2;

std::string usage_text();

}  // namespace loadgen
