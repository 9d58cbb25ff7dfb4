// dispatch/epoll: the readers are registered once with epoll_ctl(); epoll_wait() returns
// only the ready ones, so a dispatch costs O(ready fds), not O(N) (the chapter's claim).
// Level-triggered, as in the epoll server's default mode. Linux only (CMake builds this
// file only where sys/epoll.h exists).
#include <sys/epoll.h>

#include <vector>

#include "bench/dispatch.hpp"
#include "bench/socket_pairs.hpp"
#include "common/errors.hpp"
#include "common/fd.hpp"

namespace rot13::bench {
namespace {

// At most this many events per epoll_wait(); more ready fds are left for the next call.
constexpr int max_events = 256;

class epoll_dispatcher final : public dispatcher {
public:
    explicit epoll_dispatcher(std::span<const int> readers) : epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
        if (!epoll_) throw_errno("epoll_create1");
        for (int fd : readers) {
            epoll_event interest{};
            interest.events = EPOLLIN;
            interest.data.fd = fd;
            if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &interest) < 0)
                throw_errno("epoll_ctl(EPOLL_CTL_ADD, " + std::to_string(fd) + ")");
        }
    }

    int dispatch() override {
        int ready = ::epoll_wait(epoll_.get(), events_.data(), max_events, 0);
        if (ready < 0) return -errno;
        int handled = 0;
        for (int i = 0; i < ready; ++i) handled += consume_byte(events_[i].data.fd);
        return handled;
    }

private:
    unique_fd epoll_;
    std::vector<epoll_event> events_ = std::vector<epoll_event>(max_events);
};

[[maybe_unused]] const bool registered = [] {
    register_dispatch_backend(
        "epoll", [](std::span<const int> readers) { return std::make_unique<epoll_dispatcher>(readers); });
    return true;
}();

}  // namespace
}  // namespace rot13::bench
