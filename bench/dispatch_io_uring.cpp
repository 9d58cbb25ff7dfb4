// dispatch/io_uring: readiness through io_uring poll requests (IORING_OP_POLL_ADD), the
// io_uring counterpart of epoll: one multishot poll per reader, submitted once, posts a
// completion each time the reader becomes readable. A dispatch reaps the completions that
// are already in the completion ring and enters the kernel only when there are none.
// Needs Linux >= 5.13 for multishot polls and liburing (CMake builds this file only where
// liburing is found); a kernel that refuses io_uring (too old, or disabled by
// kernel.io_uring_disabled or a seccomp filter) makes the benchmark a skip.
#include <liburing.h>
#include <poll.h>

#include <algorithm>
#include <bit>
#include <system_error>
#include <vector>

#include "bench/dispatch.hpp"
#include "bench/socket_pairs.hpp"

namespace rot13::bench {
namespace {

// Submission queue size; more polls than this are submitted in several batches.
constexpr unsigned max_ring_entries = 4096;

class io_uring_dispatcher final : public dispatcher {
public:
    explicit io_uring_dispatcher(std::span<const int> readers) : readers_(readers.begin(), readers.end()) {
        unsigned entries =
            std::clamp(std::bit_ceil(static_cast<unsigned>(readers.size())), 8u, max_ring_entries);
        if (int error = io_uring_queue_init(entries, &ring_, 0); error < 0)
            throw std::system_error(-error, std::generic_category(), "io_uring_queue_init");
        int error = 0;
        for (std::size_t i = 0; i < readers_.size() && error == 0; ++i) error = arm(i);
        if (error == 0) error = std::min(io_uring_submit(&ring_), 0);
        if (error < 0) {
            io_uring_queue_exit(&ring_);
            throw std::system_error(-error, std::generic_category(), "cannot submit the poll requests");
        }
    }

    io_uring_dispatcher(const io_uring_dispatcher&) = delete;
    io_uring_dispatcher& operator=(const io_uring_dispatcher&) = delete;
    ~io_uring_dispatcher() override { io_uring_queue_exit(&ring_); }

    int dispatch() override {
        // The poll completion is normally posted while write() returns to user space (as
        // task work); io_uring_get_events() enters the kernel only when it is not there yet.
        if (io_uring_cq_ready(&ring_) == 0)
            if (int error = io_uring_get_events(&ring_); error < 0) return error;
        int handled = 0;
        int failure = 0;
        bool rearmed = false;
        unsigned head;
        unsigned seen = 0;
        io_uring_cqe* completion;
        io_uring_for_each_cqe(&ring_, head, completion) {
            ++seen;
            if (completion->res < 0) {
                failure = completion->res;  // e.g. -EINVAL: no multishot polls before Linux 5.13
                continue;
            }
            std::size_t i = io_uring_cqe_get_data64(completion);
            handled += consume_byte(readers_[i]);
            // A multishot poll that ends (the kernel may end it, e.g. on CQ overflow) says so
            // by the missing F_MORE flag: submit a new one.
            if (!(completion->flags & IORING_CQE_F_MORE)) {
                if (int error = arm(i); error < 0) failure = error;
                rearmed = true;
            }
        }
        io_uring_cq_advance(&ring_, seen);
        if (rearmed)
            if (int error = io_uring_submit(&ring_); error < 0) return error;
        return failure < 0 ? failure : handled;
    }

private:
    // Queues a multishot poll for reader i. Returns 0, or -errno when it cannot.
    int arm(std::size_t i) {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
        if (!sqe) {  // the submission queue is full: hand it to the kernel and go on
            if (int error = io_uring_submit(&ring_); error < 0) return error;
            sqe = io_uring_get_sqe(&ring_);
            if (!sqe) return -EBUSY;
        }
        io_uring_prep_poll_multishot(sqe, readers_[i], POLLIN);
        io_uring_sqe_set_data64(sqe, i);
        return 0;
    }

    std::vector<int> readers_;
    io_uring ring_{};
};

[[maybe_unused]] const bool registered = [] {
    register_dispatch_backend("io_uring", [](std::span<const int> readers) {
        return std::make_unique<io_uring_dispatcher>(readers);
    });
    return true;
}();

}  // namespace
}  // namespace rot13::bench
