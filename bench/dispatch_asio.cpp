// dispatch/asio: the readers as Boost.Asio posix::stream_descriptors on one io_context,
// each with an async_wait(wait_read) that reads the byte and waits again, as an Asio
// server re-arms its reads. A dispatch is io_context::poll(): run every handler that is
// ready, without blocking. Asio uses epoll on Linux (edge-triggered, one registration per
// descriptor) and kqueue on the BSDs and macOS.
#include <utility>  // before Boost.Asio (Boost 1.74 with C++20)

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <vector>

#include "bench/dispatch.hpp"
#include "bench/socket_pairs.hpp"

namespace rot13::bench {
namespace {

namespace asio = boost::asio;

class asio_dispatcher final : public dispatcher {
public:
    explicit asio_dispatcher(std::span<const int> readers) {
        descriptors_.reserve(readers.size());
        try {
            for (int fd : readers) descriptors_.emplace_back(context_, fd);
        } catch (...) {
            release_all();  // a failed registration must not close the pairs' fds
            throw;
        }
        for (std::size_t i = 0; i < descriptors_.size(); ++i) wait(i);
    }

    ~asio_dispatcher() override { release_all(); }

    int dispatch() override {
        handled_ = 0;
        context_.poll();
        return handled_;
    }

private:
    // The socket pairs own the fds: take them back from Asio before it closes them.
    void release_all() noexcept {
        for (auto& descriptor : descriptors_) descriptor.release();
    }

    void wait(std::size_t i) {
        descriptors_[i].async_wait(asio::posix::descriptor_base::wait_read,
                                   [this, i](const boost::system::error_code& error) {
                                       if (error) return;
                                       handled_ += consume_byte(descriptors_[i].native_handle());
                                       wait(i);
                                   });
    }

    // One thread runs the context: the concurrency hint lets Asio leave out its locking.
    asio::io_context context_{1};
    std::vector<asio::posix::stream_descriptor> descriptors_;
    int handled_ = 0;
};

[[maybe_unused]] const bool registered = [] {
    register_dispatch_backend(
        "asio", [](std::span<const int> readers) { return std::make_unique<asio_dispatcher>(readers); });
    return true;
}();

}  // namespace
}  // namespace rot13::bench
