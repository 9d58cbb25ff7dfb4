// Error helpers. Setup code throws std::system_error naming what failed; event loops
// handle errno values themselves. run_main() turns an escaped exception into one line on
// stderr and exit status 1.
#pragma once

#include <cerrno>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <system_error>

namespace rot13 {

[[noreturn]] inline void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

// A command-line mistake: print_usage_error() reports it, exit status 2.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Prints a usage error as git and curl do, the problem and where the usage is, not the
// whole usage (which would push the problem off the screen; --help prints that):
//   rot13-load: unknown option '--frobnicate'
//   see 'rot13-load --help'
// Returns 2, the exit status of a usage error.
inline int print_usage_error(std::string_view program, std::string_view message) {
    const int p = static_cast<int>(program.size());
    std::fprintf(stderr, "%.*s: %.*s\nsee '%.*s --help'\n", p, program.data(), static_cast<int>(message.size()),
                 message.data(), p, program.data());
    return 2;
}

template <class Body>
int run_main(const char* program, Body&& body) {
    try {
        return body();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: error: %s\n", program, e.what());
        return 1;
    }
}

}  // namespace rot13
