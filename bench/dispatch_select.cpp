// dispatch/select: select() with one fd_set of readers. The fd_set is a bit array of
// FD_SETSIZE (1024) bits, so select() can only watch fds below 1024: with N socket pairs
// the fds reach about 2N, and N = 1000 and 10000 are skipped (reported, not hidden).
#include <sys/select.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "bench/dispatch.hpp"
#include "bench/socket_pairs.hpp"

namespace rot13::bench {
namespace {

class select_dispatcher final : public dispatcher {
public:
    explicit select_dispatcher(std::span<const int> readers) : readers_(readers.begin(), readers.end()) {
        FD_ZERO(&registered_);
        for (int fd : readers) {
            if (fd >= FD_SETSIZE)
                throw std::runtime_error("select() cannot watch fd " + std::to_string(fd) +
                                         ": fds must be below FD_SETSIZE (" + std::to_string(FD_SETSIZE) +
                                         ")");
            FD_SET(fd, &registered_);
            max_fd_ = std::max(max_fd_, fd);
        }
    }

    int dispatch() override {
        // select() overwrites its sets with the result, so each call starts from a copy of
        // the registered set (as libevent does; the reference server rebuilds it instead).
        fd_set readable = registered_;
        timeval no_wait{0, 0};
        int ready = ::select(max_fd_ + 1, &readable, nullptr, nullptr, &no_wait);
        if (ready < 0) return -errno;
        // The result says only which bits are set: finding them means looking at every fd.
        int handled = 0;
        for (int fd : readers_)
            if (FD_ISSET(fd, &readable)) handled += consume_byte(fd);
        return handled;
    }

private:
    std::vector<int> readers_;
    fd_set registered_;
    int max_fd_ = -1;
};

[[maybe_unused]] const bool registered = [] {
    register_dispatch_backend(
        "select", [](std::span<const int> readers) { return std::make_unique<select_dispatcher>(readers); });
    return true;
}();

}  // namespace
}  // namespace rot13::bench
