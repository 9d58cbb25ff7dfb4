// dispatch/poll: poll() with an array of N pollfd entries. No FD_SETSIZE limit, but the
// whole array goes into the kernel and back on every call, and the kernel looks at every
// entry: the cost grows with N whatever the number of ready fds.
#include <poll.h>

#include <vector>

#include "bench/dispatch.hpp"
#include "bench/socket_pairs.hpp"

namespace rot13::bench {
namespace {

class poll_dispatcher final : public dispatcher {
public:
    explicit poll_dispatcher(std::span<const int> readers) {
        watched_.reserve(readers.size());
        for (int fd : readers) watched_.push_back({fd, POLLIN, 0});
    }

    int dispatch() override {
        int ready = ::poll(watched_.data(), watched_.size(), 0);
        if (ready < 0) return -errno;
        // Like select(), the result has to be searched: every entry's revents is looked at.
        int handled = 0;
        for (const pollfd& entry : watched_)
            if (entry.revents & (POLLIN | POLLHUP | POLLERR)) handled += consume_byte(entry.fd);
        return handled;
    }

private:
    std::vector<pollfd> watched_;
};

[[maybe_unused]] const bool registered = [] {
    register_dispatch_backend(
        "poll", [](std::span<const int> readers) { return std::make_unique<poll_dispatcher>(readers); });
    return true;
}();

}  // namespace
}  // namespace rot13::bench
