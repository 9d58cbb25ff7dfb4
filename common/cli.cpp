#include "cli.hpp"

#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "errors.hpp"

namespace rot13 {
namespace {

long parse_integer(std::string_view flag, std::string_view text, long min, long max) {
    long value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max)
        throw usage_error(std::string(flag) + " expects an integer from " + std::to_string(min) +
                          " to " + std::to_string(max) + ", got '" + std::string(text) + "'");
    return value;
}

}  // namespace

server_options parse_server_options(std::span<const std::string_view> args, const server_spec& spec) {
    server_options opts;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view flag = args[i];
        std::string_view value;
        bool has_inline_value = false;
        // Accept both "--port 5" and "--port=5".
        if (auto eq = flag.find('='); flag.starts_with("--") && eq != std::string_view::npos) {
            value = flag.substr(eq + 1);
            flag = flag.substr(0, eq);
            has_inline_value = true;
        }
        auto take_value = [&]() -> std::string_view {
            if (has_inline_value) return value;
            if (i + 1 >= args.size()) throw usage_error(std::string(flag) + " needs a value");
            return args[++i];
        };
        auto no_value = [&] {
            if (has_inline_value) throw usage_error(std::string(flag) + " takes no value");
        };

        if (flag == "--help" || flag == "-h") {
            no_value();
            opts.help = true;
        } else if (flag == "--port") {
            opts.port = static_cast<std::uint16_t>(parse_integer(flag, take_value(), 0, 65535));
        } else if (flag == "--bind") {
            opts.bind = std::string(take_value());
            if (opts.bind.empty()) throw usage_error("--bind needs an address");
        } else if (flag == "--backlog") {
            opts.backlog = static_cast<int>(parse_integer(flag, take_value(), 1, 1 << 20));
        } else if (flag == "--backend" && spec.takes_backend) {
            opts.backend = std::string(take_value());
        } else if (flag == "--threads" && spec.takes_threads) {
            opts.threads = static_cast<int>(parse_integer(flag, take_value(), 1, 100000));
        } else if (flag == "--edge" && spec.takes_edge) {
            no_value();
            opts.edge = true;
        } else if (flag.starts_with("-")) {
            throw usage_error("unknown option '" + std::string(flag) + "'");
        } else {
            throw usage_error("unexpected argument '" + std::string(flag) + "'");
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
    text += "  --help         show this text\n\n"
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
        std::fprintf(stderr, "%.*s: %s\n\n%s", static_cast<int>(spec.program.size()), spec.program.data(),
                     e.what(), server_usage(spec).c_str());
        std::exit(2);
    }
}

}  // namespace rot13
