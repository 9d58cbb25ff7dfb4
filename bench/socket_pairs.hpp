// The test bed of the dispatch and setup benchmarks, as in libevent's test/bench.c:
// N connected socket pairs. The mechanism under test watches the reading end of every
// pair; the benchmark writes one byte into the writing end of the "active" pairs and the
// mechanism must notice them among all N.
#pragma once

#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/errors.hpp"
#include "common/fd.hpp"
#include "common/listener.hpp"

namespace rot13::bench {

// Descriptors a benchmark may need besides its pairs: stdio, the JSON output file, the
// epoll or io_uring descriptor, Asio's eventfd and timerfd.
inline constexpr int spare_fds = 32;

// Why n pairs cannot be made in this process, or nothing when they can. Checked before
// creating anything, so that a run that cannot fit fails fast with a message saying how
// to make it fit, rather than with EMFILE after creating 19,000 sockets.
inline std::optional<std::string> fd_budget_problem(int pairs) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) < 0) return std::nullopt;
    const rlim_t needed = 2 * static_cast<rlim_t>(pairs) + spare_fds;
    if (limit.rlim_cur == RLIM_INFINITY || needed <= limit.rlim_cur) return std::nullopt;
    return std::to_string(pairs) + " socket pairs need " + std::to_string(needed) +
           " file descriptors (2 per pair + " + std::to_string(spare_fds) + " spare) but RLIMIT_NOFILE is " +
           std::to_string(limit.rlim_cur) +
           "; raise the hard limit (ulimit -Hn, or LimitNOFILE= for a service) and run again";
}

class socket_pairs {
public:
    // Throws std::system_error when the sockets cannot be made (EMFILE, ENFILE).
    explicit socket_pairs(int n) {
        readers_.reserve(n);
        writers_.reserve(n);
        reader_fds_.reserve(n);
        for (int i = 0; i < n; ++i) {
            int fds[2];
            if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
                throw_errno("cannot create socket pair " + std::to_string(i + 1) + " of " +
                            std::to_string(n));
            readers_.emplace_back(fds[0]);
            writers_.emplace_back(fds[1]);
            // Nonblocking, as in every server: a reader that was reported ready by mistake
            // must show up as EAGAIN, not hang the benchmark.
            set_nonblocking(fds[0]);
            set_nonblocking(fds[1]);
            reader_fds_.push_back(fds[0]);
        }
    }

    int size() const noexcept { return static_cast<int>(reader_fds_.size()); }
    std::span<const int> readers() const noexcept { return reader_fds_; }
    int writer(int i) const noexcept { return writers_[i].get(); }

private:
    std::vector<unique_fd> readers_;
    std::vector<unique_fd> writers_;
    std::vector<int> reader_fds_;
};

// Which of n pairs are the a active ones: spread evenly over all of them (the middle of
// each of a equal stripes), so that no mechanism is favoured by where the ready fds sit.
inline std::vector<int> active_pairs(int n, int a) {
    std::vector<int> active;
    for (int i = 0; i < a; ++i)
        active.push_back(static_cast<int>((2 * static_cast<long>(i) + 1) * n / (2 * a)));
    return active;
}

// What every event handler does: read the byte the benchmark wrote. Returns 1 when a
// byte was read, 0 when there was nothing (a spurious report, which the driver notices
// because the events no longer add up).
inline int consume_byte(int fd) noexcept {
    char bytes[16];
    return ::read(fd, bytes, sizeof(bytes)) > 0 ? 1 : 0;
}

}  // namespace rot13::bench
