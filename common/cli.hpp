// Command-line parsing shared by every server. Common flags: --port, --bind, --backlog,
// --help. A variant declares which of the optional flags (--backend, --threads, --edge)
// it understands; any other flag is a usage error (exit status 2).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol.hpp"

namespace rot13 {

struct server_spec {
    std::string_view program = {};     // e.g. "rot13-select"
    std::string_view description = {}; // one line: what the variant demonstrates
    bool takes_backend = false;    // --backend NAME
    std::string_view backend_help = {};// e.g. "select|poll|epoll (default: libevent's choice)"
    bool takes_threads = false;    // --threads N
    std::string_view threads_help = {};
    bool takes_edge = false;       // --edge
};

struct server_options {
    std::string bind = "127.0.0.1";
    std::uint16_t port = default_port;
    int backlog = 4096;            // listen() caps this at net.core.somaxconn
    std::string backend;           // empty: the variant's default
    int threads = 0;               // 0: the variant's default
    bool edge = false;
    bool stop_on_stdin_close = false;  // stop as on SIGTERM when stdin reaches end of file
    bool help = false;
};

// Walks a command line flag by flag, accepting both "--flag value" and "--flag=value".
// Every mistake is a usage_error naming the flag. Shared by the servers, rot13-load and
// rot13-bench so that all of them read flags the same way.
class flag_reader {
public:
    explicit flag_reader(std::span<const std::string_view> args) : args_(args) {}

    // Moves to the next argument; false when there are none left.
    bool next();
    // The current flag, without any "=value".
    std::string_view flag() const { return flag_; }
    // The flag's value: the part after '=', or else the next argument.
    std::string_view value();
    // For flags without a value: rejects "--flag=value".
    void no_value() const;
    // value() as an integer in [min, max], or a number in [min, max].
    long long integer(long long min, long long max);
    double number(double min, double max);
    // A usage_error for an argument that matched no known flag.
    [[noreturn]] void unknown() const;

private:
    std::span<const std::string_view> args_;
    std::size_t next_ = 0;
    std::string_view flag_;
    std::string_view inline_value_;
    bool has_inline_value_ = false;
};

// Parses args (without argv[0]). Throws usage_error on a bad or unknown flag.
server_options parse_server_options(std::span<const std::string_view> args, const server_spec& spec);

// The usage text for --help.
std::string server_usage(const server_spec& spec);

// For main(): parses argv; prints usage and exits 0 on --help; on a usage error prints it
// and a pointer to --help on stderr (print_usage_error) and exits 2.
server_options parse_server_options_or_exit(int argc, char** argv, const server_spec& spec);

}  // namespace rot13
