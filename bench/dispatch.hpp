// The dispatch and setup benchmarks, written once for every event mechanism.
//
// A mechanism is a dispatcher: constructing it registers the readers of N socket pairs
// with the mechanism; dispatch() waits once, without blocking, and reads one byte from
// every reader the mechanism reports ready. Each backend file (dispatch_select.cpp,
// dispatch_epoll.cpp, ...) defines one dispatcher and registers it with
// register_dispatch_backend(); CMake decides which of those files exist on a platform.
//
//   dispatch/<backend>/fds:<N>/active:<A>  one iteration writes one byte into each of the
//       A active pairs, then dispatches until the A bytes are read (one dispatch() call in
//       practice; the counter dispatches_per_iter shows it). items_per_second counts
//       events, so the cost of one event is 1 / items_per_second = time per iteration / A.
//       With A = 1 this is exactly one write and one dispatch that reads it.
//   setup/<backend>/fds:<N>  creating the mechanism, registering the N readers and one
//       empty dispatch (so that a mechanism that registers lazily, like libevent's epoll
//       changelist or an io_uring submission queue, has really told the kernel). Tearing
//       it down again is not timed. For small N one iteration does this several times
//       (the counter setups_per_iter says how many) so that the timer's own cost does not
//       count: the cost of one setup is time per iteration / setups_per_iter, and
//       items_per_second counts registered fds.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>

namespace rot13::bench {

class dispatcher {
public:
    virtual ~dispatcher() = default;
    // One nonblocking wait. Reads one byte from every reader reported ready and returns
    // how many it read, or -errno when the mechanism itself failed.
    virtual int dispatch() = 0;
};

// Registers the readers with a new mechanism. Throws std::exception whose what() says why
// the mechanism cannot do it here (fd >= FD_SETSIZE, io_uring disabled, ...): the
// benchmark is then reported as skipped with that message.
using dispatcher_factory = std::function<std::unique_ptr<dispatcher>(std::span<const int> readers)>;

// Registers dispatch/<name>/fds:N/active:A for every N and A <= N, and setup/<name>/fds:N.
void register_dispatch_backend(const std::string& name, dispatcher_factory make);

}  // namespace rot13::bench
