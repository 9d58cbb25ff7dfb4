// Error helpers. Setup code throws std::system_error naming what failed; event loops
// handle errno values themselves. run_main() turns an escaped exception into one line on
// stderr and exit status 1.
#pragma once

#include <cerrno>
#include <cstdio>
#include <exception>
#include <string>
#include <system_error>

namespace rot13 {

[[noreturn]] inline void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

// A command-line mistake: the message is printed with the usage, exit status 2.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

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
