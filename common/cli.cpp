#include "cli.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cctype>
#include <cstdlib>

#include "errors.hpp"

namespace rot13 {
bool flag_reader::next() {
    if (next_ >= args_.size()) return false;
    flag_ = args_[next_++];
    has_inline_value_ = false;
    if (auto eq = flag_.find('='); flag_.starts_with("--") && eq != std::string_view::npos) {
        inline_value_ = flag_.substr(eq + 1);
        flag_ = flag_.substr(0, eq);
        has_inline_value_ = true;
    }
    return true;
}

std::string_view flag_reader::value() {
    if (has_inline_value_) return inline_value_;
    if (next_ >= args_.size()) throw usage_error(std::string(flag_) + " needs a value");
    return args_[next_++];
}

void flag_reader::no_value() const {
    if (has_inline_value_) throw usage_error(std::string(flag_) + " takes no value");
}

long long flag_reader::integer(long long min, long long max) {
    std::string_view text = value();
    long long result = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), result);
    if (ec != std::errc() || end != text.data() + text.size() || result < min || result > max)
        throw usage_error(std::string(flag_) + " expects an integer from " + std::to_string(min) + " to " +
                          std::to_string(max) + ", got '" + std::string(text) + "'");
    return result;
}

double flag_reader::number(double min, double max) {
    std::string_view text = value();
    // strtod, not std::from_chars: libc++ before LLVM 17 (Xcode's, on macOS) has no
    // floating-point from_chars. Nothing here calls setlocale, so the decimal point is '.'.
    const std::string copy(text);
    char* end = nullptr;
    const double result = copy.empty() || std::isspace(static_cast<unsigned char>(copy[0]))
                              ? std::nan("")
                              : std::strtod(copy.c_str(), &end);
    if (end != copy.c_str() + copy.size() || !std::isfinite(result) || result < min || result > max) {
        char range[64];
        std::snprintf(range, sizeof(range), "from %g to %g", min, max);
        throw usage_error(std::string(flag_) + " expects a number " + range + ", got '" + std::string(text) + "'");
    }
    return result;
}

void flag_reader::unknown() const {
    if (flag_.starts_with("-")) throw usage_error("unknown option '" + std::string(flag_) + "'");
    throw usage_error("unexpected argument '" + std::string(flag_) + "'");
}

server_options parse_server_options(std::span<const std::string_view> args, const server_spec& spec) {
    server_options opts;
    flag_reader flags(args);
    while (flags.next()) {
        std::string_view flag = flags.flag();
        if (flag == "--help" || flag == "-h") {
            flags.no_value();
            opts.help = true;
        } else if (flag == "--port") {
            opts.port = static_cast<std::uint16_t>(flags.integer(0, 65535));
        } else if (flag == "--bind") {
            opts.bind = std::string(flags.value());
            if (opts.bind.empty()) throw usage_error("--bind needs an address");
        } else if (flag == "--backlog") {
            opts.backlog = static_cast<int>(flags.integer(1, 1 << 20));
        } else if (flag == "--backend" && spec.takes_backend) {
            opts.backend = std::string(flags.value());
        } else if (flag == "--threads" && spec.takes_threads) {
            opts.threads = static_cast<int>(flags.integer(1, 100000));
        } else if (flag == "--stop-on-stdin-close") {
            flags.no_value();
            opts.stop_on_stdin_close = true;
        } else if (flag == "--edge" && spec.takes_edge) {
            flags.no_value();
            opts.edge = true;
        } else {
            flags.unknown();
        }
    }
    return opts;
}

std::string server_usage(const server_spec& spec) {
    std::string text = "usage: " + std::string(spec.program) + " [options]\n\n" +
                       std::string(spec.description) +
                       "\n\n"
                       "Answers each '\\n'-terminated line with its ROT13 (docs/protocol.md).\n\n"
                       "options:\n"
                       "  --port N       TCP port (default 40713; 0 picks a free port)\n"
                       "  --bind ADDR    address to listen on (default 127.0.0.1; :: for IPv6)\n"
                       "  --backlog N    listen() backlog (default 4096, capped by somaxconn)\n";
    if (spec.takes_backend)
        text += "  --backend NAME " + std::string(spec.backend_help) + "\n";
    if (spec.takes_threads)
        text += "  --threads N    " + std::string(spec.threads_help) + "\n";
    if (spec.takes_edge) text += "  --edge         edge-triggered notification instead of level-triggered\n";
    text += "  --stop-on-stdin-close\n"
            "                 stop as on SIGTERM when stdin reaches end of file (how rot13-bench\n"
            "                 stops a server on every OS, and how a server outlives no harness)\n"
            "  --help         show this text\n\n"
            "Prints 'listening on ADDR:PORT' once ready; SIGTERM or SIGINT stops it.\n";
    return text;
}

server_options parse_server_options_or_exit(int argc, char** argv, const server_spec& spec) {
    std::vector<std::string_view> args(argv + 1, argv + argc);
    try {
        server_options opts = parse_server_options(args, spec);
        if (opts.help) {
            std::fputs(server_usage(spec).c_str(), stdout);
            std::exit(0);
        }
        return opts;
    } catch (const usage_error& e) {
        std::exit(print_usage_error(spec.program, e.what()));
    }
}

}  // namespace rot13
