// dispatch/libevent-select, libevent-poll, libevent-epoll: the same readers through
// libevent's event_base, forced onto one method by avoiding all the others
// (event_config_avoid_method), so that the cost of libevent's layer over each mechanism
// can be read off against dispatch/select, dispatch/poll and dispatch/epoll. Each reader
// has one persistent EV_READ event; a dispatch is event_base_loop(EVLOOP_ONCE |
// EVLOOP_NONBLOCK), which runs every callback that is ready and returns.
#include <event2/event.h>
#include <sys/select.h>

#include <stdexcept>
#include <vector>

#include "bench/dispatch.hpp"
#include "bench/socket_pairs.hpp"

// libevent's select backend sizes its fd_sets for the highest fd it watches, but sets the
// bits with FD_SET, and a fortified build (Debian's libevent, _FORTIFY_SOURCE=2) checks
// every FD_SET through glibc's __fdelt_chk(), which aborts for fds >= FD_SETSIZE. As in
// servers/libevent_event.cpp, this program supplies __fdelt_chk without the check, so
// that libevent-select is measured at N = 1,000 too, where libevent allows it. Our own
// select() benchmark stops below FD_SETSIZE by itself (dispatch_select.cpp).
extern "C" long __fdelt_chk(long fd) noexcept {
    return fd / NFDBITS;
}

namespace rot13::bench {
namespace {

// The mechanisms given their own benchmark, in libevent's names.
constexpr const char* methods[] = {"select", "poll", "epoll"};

class libevent_dispatcher final : public dispatcher {
public:
    libevent_dispatcher(const std::string& method, std::span<const int> readers) {
        event_config* config = event_config_new();
        if (!config) throw std::runtime_error("event_config_new failed");
        for (const char** m = event_get_supported_methods(); m && *m; ++m)
            if (method != *m) event_config_avoid_method(config, *m);
        base_ = event_base_new_with_config(config);
        event_config_free(config);
        if (!base_) throw std::runtime_error("libevent has no '" + method + "' method here");
        if (method != event_base_get_method(base_)) {
            std::string chosen = event_base_get_method(base_);
            event_base_free(base_);
            throw std::runtime_error("libevent chose '" + chosen + "' instead of '" + method + "'");
        }
        events_.reserve(readers.size());
        for (int fd : readers) {
            event* ev = event_new(base_, fd, EV_READ | EV_PERSIST, on_readable, this);
            if (!ev || event_add(ev, nullptr) < 0) {
                if (ev) event_free(ev);
                release();
                throw std::runtime_error("cannot add an event for fd " + std::to_string(fd));
            }
            events_.push_back(ev);
        }
    }

    libevent_dispatcher(const libevent_dispatcher&) = delete;
    libevent_dispatcher& operator=(const libevent_dispatcher&) = delete;

    ~libevent_dispatcher() override { release(); }

    int dispatch() override {
        handled_ = 0;
        if (event_base_loop(base_, EVLOOP_ONCE | EVLOOP_NONBLOCK) < 0) return -EIO;
        return handled_;
    }

private:
    // Frees the events, then the base (libevent wants them in that order).
    void release() noexcept {
        for (event* ev : events_) event_free(ev);
        events_.clear();
        if (base_) event_base_free(base_);
        base_ = nullptr;
    }

    static void on_readable(evutil_socket_t fd, short, void* self) {
        static_cast<libevent_dispatcher*>(self)->handled_ += consume_byte(fd);
    }

    event_base* base_ = nullptr;
    std::vector<event*> events_;
    int handled_ = 0;
};

[[maybe_unused]] const bool registered = [] {
    for (const char* method : methods) {
        register_dispatch_backend(std::string("libevent-") + method, [method](std::span<const int> readers) {
            return std::make_unique<libevent_dispatcher>(method, readers);
        });
    }
    return true;
}();

}  // namespace
}  // namespace rot13::bench
