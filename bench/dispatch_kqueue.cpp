// dispatch/kqueue: the readers are registered once, as EVFILT_READ kevents; kevent()
// returns only the ready ones, so a dispatch costs O(ready fds), not O(N), as with epoll.
// Level-triggered (no EV_CLEAR), as in the kqueue server. One difference from epoll shows
// in the setup: kevent() takes a whole list of changes, so registering N readers is one
// system call, where epoll needs one epoll_ctl() per reader.
//
// Built where <sys/event.h> exists: macOS and the BSDs, and Linux with libkqueue (kqueue's
// API over epoll, cmake/Rot13Libkqueue.cmake). The backend's name comes from CMake: "kqueue"
// for the system's kqueue, "libkqueue" for the emulation, whose timings are epoll's plus
// its own layer, never kqueue's.
#include <sys/types.h>
#include <sys/event.h>
#include <sys/time.h>

#include <ctime>
#include <vector>

#include "bench/dispatch.hpp"
#include "bench/socket_pairs.hpp"
#include "common/errors.hpp"
#include "common/fd.hpp"

namespace rot13::bench {
namespace {

// At most this many events per kevent(); more ready fds are left for the next call.
constexpr int max_events = 256;

// kevent() returns at once: a nonblocking wait, and the registration call collects nothing.
constexpr timespec no_wait{};

class kqueue_dispatcher final : public dispatcher {
public:
    explicit kqueue_dispatcher(std::span<const int> readers) : queue_(::kqueue()) {
        if (!queue_) throw_errno("kqueue");
        std::vector<struct kevent> changes(readers.size());
        for (std::size_t i = 0; i < readers.size(); ++i)
            EV_SET(&changes[i], readers[i], EVFILT_READ, EV_ADD, 0, 0, nullptr);
        // No room for events: a failed change makes kevent() return -1 at once.
        if (::kevent(queue_.get(), changes.data(), static_cast<int>(changes.size()), nullptr, 0, &no_wait) < 0)
            throw_errno("kevent(EV_ADD) of " + std::to_string(readers.size()) + " readers");
    }

    int dispatch() override {
        int ready = ::kevent(queue_.get(), nullptr, 0, events_.data(), max_events, &no_wait);
        if (ready < 0) return -errno;
        int handled = 0;
        for (int i = 0; i < ready; ++i) handled += consume_byte(static_cast<int>(events_[i].ident));
        return handled;
    }

private:
    unique_fd queue_;
    std::vector<struct kevent> events_ = std::vector<struct kevent>(max_events);
};

[[maybe_unused]] const bool registered = [] {
    register_dispatch_backend(ROT13_KQUEUE_BACKEND_NAME, [](std::span<const int> readers) {
        return std::make_unique<kqueue_dispatcher>(readers);
    });
    return true;
}();

}  // namespace
}  // namespace rot13::bench
