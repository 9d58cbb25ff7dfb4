// POSIX sockets (Linux, macOS, the BSDs): every call is the plain system call, and errno
// is already the error this interface speaks.
#include <fcntl.h>

#include <cerrno>
#include <system_error>

#include "common/errors.hpp"
#include "common/socket.hpp"

namespace rot13 {

void close_socket(socket_handle s) noexcept { ::close(s); }

int last_socket_error() noexcept { return errno; }

void throw_socket_error(const std::string& what) { throw_errno(what); }

unique_socket open_tcp_socket(int family, const std::string& where) {
    unique_socket s(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s) throw_errno("cannot create a socket for " + where);
    return s;
}

void allow_rebinding(socket_handle s, const std::string& where) {
    int one = 1;
    if (::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
        throw_errno("cannot set SO_REUSEADDR on " + where);
}

void set_nonblocking(socket_handle s) {
    int flags = ::fcntl(s, F_GETFL, 0);
    if (flags < 0 || ::fcntl(s, F_SETFL, flags | O_NONBLOCK) < 0)
        throw_errno("cannot make fd " + std::to_string(s) + " nonblocking");
}

void set_blocking(socket_handle s) noexcept {
    int flags = ::fcntl(s, F_GETFL, 0);
    if (flags >= 0 && (flags & O_NONBLOCK)) ::fcntl(s, F_SETFL, flags & ~O_NONBLOCK);
}

int poll_sockets(pollfd* fds, std::size_t count, int timeout_ms) noexcept {
    return ::poll(fds, static_cast<nfds_t>(count), timeout_ms);
}

bool fits_in_fd_set(socket_handle s, std::size_t) noexcept { return s < FD_SETSIZE; }

void shutdown_socket(socket_handle s) noexcept { ::shutdown(s, SHUT_RDWR); }

unique_socket open_spare_descriptor() noexcept {
    return unique_socket(::open("/dev/null", O_RDONLY | O_CLOEXEC));
}

wakeup::wakeup() {
    int fds[2];
    if (::pipe(fds) < 0) throw_errno("cannot create a wake-up pipe");
    read_end_.reset(fds[0]);
    write_end_.reset(fds[1]);
    for (int fd : fds) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    set_nonblocking(fds[0]);
    set_nonblocking(fds[1]);
}

void wakeup::notify() noexcept {
    int saved_errno = errno;  // a signal handler must leave errno as it found it
    char byte = 1;
    [[maybe_unused]] auto ignored = ::write(write_end_.get(), &byte, 1);
    errno = saved_errno;
}

void wakeup::drain() noexcept {
    char bytes[256];
    while (::read(read_end_.get(), bytes, sizeof(bytes)) > 0) {}
}

}  // namespace rot13
